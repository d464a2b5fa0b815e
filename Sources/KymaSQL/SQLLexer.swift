// Tokens of SQL text, each with its line and column (in characters) for error messages.
// Keywords are case-insensitive; identifiers keep their case ("quoted" ones exactly);
// `--` and `/* */` are comments.

import KymaPlan

struct SQLToken: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// An unquoted word (keyword or name), as written.
        case word(String)
        /// A "double-quoted" identifier.
        case quoted(String)
        /// Digits only: the text, so `-9223372036854775808` can be read whole.
        case integer(String)
        case real(Double)
        case string(String)
        case symbol(String)
        case end
    }

    var kind: Kind
    var line: Int
    var column: Int

    var position: SourcePosition { SourcePosition(line: line, column: column) }

    var display: String {
        switch kind {
        case .word(let w): "'\(w)'"
        case .quoted(let w): "\"\(w)\""
        case .integer(let t): "'\(t)'"
        case .real(let v): "'\(v)'"
        case .string(let s): "string '\(s)'"
        case .symbol(let s): "'\(s)'"
        case .end: "end of query"
        }
    }

    /// The keyword this token is (uppercased), when it is an unquoted word.
    var keyword: String? {
        if case .word(let w) = kind { return w.uppercased() }
        return nil
    }
}

enum SQLLexer {
    /// Longest first, so `<=` is not read as `<` then `=`.
    static let symbols = ["::", "//", "||", "<=", ">=", "<>", "!=", "==", "(", ")", ",", ".", ";", "[", "]", "+", "-", "*", "/", "%", "=", "<", ">", ":"]

    static let symbolBytes: [(String, [UInt8])] = symbols.map { ($0, Array($0.utf8)) }

    static func tokenize(_ text: String) throws(QueryError) -> [SQLToken] {
        let bytes = Array(text.utf8)
        var tokens: [SQLToken] = []
        var i = 0
        var line = 1
        var lineStart = 0

        // Columns count characters; counted on from the last token (offsets only grow), so a
        // long line costs linear time.
        var counted = (lineStart: 0, offset: 0, column: 1)
        func column(_ offset: Int) -> Int {
            if counted.lineStart != lineStart || offset < counted.offset { counted = (lineStart, lineStart, 1) }
            var k = counted.offset
            var c = counted.column
            while k < offset {
                if bytes[k] & 0xC0 != 0x80 { c += 1 }
                k += 1
            }
            counted = (lineStart, offset, c)
            return c
        }
        func isWordStart(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b >= 0x80 }
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        func isWord(_ b: UInt8) -> Bool { isWordStart(b) || isDigit(b) || b == 0x24 }

        while i < bytes.count {
            let b = bytes[i]
            if b == 0x0A { line += 1; i += 1; lineStart = i; continue }
            if b == 0x20 || b == 0x09 || b == 0x0D { i += 1; continue }
            if b == 0x2D, i + 1 < bytes.count, bytes[i + 1] == 0x2D {  // -- comment
                while i < bytes.count, bytes[i] != 0x0A { i += 1 }
                continue
            }
            if b == 0x2F, i + 1 < bytes.count, bytes[i + 1] == 0x2A {  // /* comment */
                let startLine = line, startColumn = column(i)
                i += 2
                var closed = false
                while i < bytes.count {
                    if bytes[i] == 0x2A, i + 1 < bytes.count, bytes[i + 1] == 0x2F { i += 2; closed = true; break }
                    if bytes[i] == 0x0A { line += 1; lineStart = i + 1 }
                    i += 1
                }
                guard closed else { throw .syntax(line: startLine, column: startColumn, found: "an unterminated comment", expected: "'*/'") }
                continue
            }
            let start = i
            let startColumn = column(i)
            func token(_ kind: SQLToken.Kind) -> SQLToken { SQLToken(kind: kind, line: line, column: startColumn) }

            if isWordStart(b) {
                while i < bytes.count, isWord(bytes[i]) { i += 1 }
                tokens.append(token(.word(String(decoding: bytes[start..<i], as: UTF8.self))))
                continue
            }
            if isDigit(b) || (b == 0x2E && i + 1 < bytes.count && isDigit(bytes[i + 1])) {
                var isReal = false
                while i < bytes.count, isDigit(bytes[i]) || bytes[i] == 0x5F { i += 1 }
                if i < bytes.count, bytes[i] == 0x2E, !(i + 1 < bytes.count && bytes[i + 1] == 0x2E) {
                    isReal = true
                    i += 1
                    while i < bytes.count, isDigit(bytes[i]) { i += 1 }
                }
                if i < bytes.count, bytes[i] == 0x65 || bytes[i] == 0x45 {
                    var k = i + 1
                    if k < bytes.count, bytes[k] == 0x2B || bytes[k] == 0x2D { k += 1 }
                    if k < bytes.count, isDigit(bytes[k]) {
                        isReal = true
                        i = k
                        while i < bytes.count, isDigit(bytes[i]) { i += 1 }
                    }
                }
                if i < bytes.count, isWordStart(bytes[i]) {
                    throw .syntax(line: line, column: startColumn, found: "'\(String(decoding: bytes[start...i], as: UTF8.self))'", expected: "a number followed by a space or an operator")
                }
                let numberText = String(decoding: bytes[start..<i], as: UTF8.self).replacingOccurrences(of: "_", with: "")
                if isReal {
                    guard let value = Double(numberText), value.isFinite else {
                        throw .syntax(line: line, column: startColumn, found: "'\(numberText)'", expected: "a finite number")
                    }
                    tokens.append(token(.real(value)))
                } else {
                    tokens.append(token(.integer(numberText)))
                }
                continue
            }
            if b == 0x27 || b == 0x22 {  // 'string' or "identifier", the quote doubled inside
                let quote = b
                i += 1
                var value: [UInt8] = []
                var closed = false
                while i < bytes.count {
                    if bytes[i] == quote {
                        if i + 1 < bytes.count, bytes[i + 1] == quote {
                            value.append(quote)
                            i += 2
                            continue
                        }
                        i += 1
                        closed = true
                        break
                    }
                    if bytes[i] == 0x0A { line += 1; lineStart = i + 1 }
                    value.append(bytes[i])
                    i += 1
                }
                guard closed else {
                    throw .syntax(line: line, column: startColumn, found: quote == 0x27 ? "an unterminated string" : "an unterminated quoted name",
                                  expected: quote == 0x27 ? "a closing '" : "a closing \"")
                }
                let text = String(decoding: value, as: UTF8.self)
                tokens.append(token(quote == 0x27 ? .string(text) : .quoted(text)))
                continue
            }
            var matched = false
            for (symbol, s) in symbolBytes {
                if i + s.count <= bytes.count, bytes[i..<i + s.count].elementsEqual(s) {
                    i += s.count
                    tokens.append(token(.symbol(symbol)))
                    matched = true
                    break
                }
            }
            if !matched {
                var end = i + 1
                while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
                throw .syntax(line: line, column: startColumn, found: "'\(String(decoding: bytes[i..<end], as: UTF8.self))'",
                              expected: "a name, number, string or operator")
            }
        }
        tokens.append(SQLToken(kind: .end, line: line, column: column(bytes.count)))
        return tokens
    }
}
