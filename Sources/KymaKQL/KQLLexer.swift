// Tokens of KQL text, each with its line and column for error messages.

import KymaPlan

struct KQLToken: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case identifier(String)
        case integer(Int64)
        case real(Double)
        /// A number with a timespan unit (`5m`, `1.5h`), in nanoseconds.
        case timespan(Int64)
        case string(String)
        case symbol(String)
        case end
    }

    var kind: Kind
    var line: Int
    var column: Int
    /// Byte offset of the token's first character in the text.
    var offset: Int
    /// Byte offset just past the token.
    var endOffset: Int

    var display: String {
        switch kind {
        case .identifier(let name): "'\(name)'"
        case .integer(let v): "'\(v)'"
        case .real(let v): "'\(v)'"
        case .timespan(let v): "timespan \(v)ns"
        case .string(let s): "string \"\(s)\""
        case .symbol(let s): "'\(s)'"
        case .end: "end of query"
        }
    }
}

enum KQLLexer {
    /// Nanoseconds per timespan unit, longest names first so `ms` is not read as `m` + `s`.
    static let units: [(String, Int64)] = [
        ("microseconds", 1_000), ("microsecond", 1_000), ("milliseconds", 1_000_000), ("millisecond", 1_000_000),
        ("seconds", 1_000_000_000), ("second", 1_000_000_000), ("minutes", 60_000_000_000), ("minute", 60_000_000_000),
        ("hours", 3_600_000_000_000), ("hour", 3_600_000_000_000), ("days", 86_400_000_000_000), ("day", 86_400_000_000_000),
        ("ticks", 100), ("tick", 100), ("ms", 1_000_000), ("us", 1_000), ("ns", 1),
        ("d", 86_400_000_000_000), ("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000),
    ]

    static let symbols = ["!between", "!contains_cs", "!contains", "!startswith", "!endswith", "!has_cs", "!has", "!in",
                          "==", "!=", "<>", "<=", ">=", "=~", "!~", "..", "|", "(", ")", ",", "=", "<", ">", "+", "-", "*", "/", "%", "[", "]"]

    /// The symbols and their bytes, taken apart once.
    static let symbolBytes: [(String, [UInt8])] = symbols.map { ($0, Array($0.utf8)) }

    static func tokenize(_ text: String) throws(QueryError) -> [KQLToken] {
        let bytes = Array(text.utf8)
        var tokens: [KQLToken] = []
        var i = 0
        var line = 1
        var lineStart = 0

        // The 1-based column of a byte offset on the current line, in characters; counted on
        // from the last token (offsets only grow), so a long line costs linear time.
        var counted = (lineStart: 0, offset: 0, column: 1)
        func characterColumn(_ bytes: [UInt8], _ lineStart: Int, _ offset: Int) -> Int {
            if counted.lineStart != lineStart || offset < counted.offset { counted = (lineStart, lineStart, 1) }
            var k = counted.offset
            var c = counted.column
            while k < offset, k < bytes.count {
                if bytes[k] & 0xC0 != 0x80 { c += 1 }
                k += 1
            }
            counted = (lineStart, offset, c)
            return c
        }
        func isIdentStart(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x24 }
        func isIdent(_ b: UInt8) -> Bool { isIdentStart(b) || isDigit(b) }
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

        while i < bytes.count {
            let b = bytes[i]
            if b == 0x0A { line += 1; i += 1; lineStart = i; continue }
            if b == 0x20 || b == 0x09 || b == 0x0D { i += 1; continue }
            // Comments run to the end of the line.
            if b == 0x2F, i + 1 < bytes.count, bytes[i + 1] == 0x2F {
                while i < bytes.count, bytes[i] != 0x0A { i += 1 }
                continue
            }
            let start = i
            let column = characterColumn(bytes, lineStart, i)
            func token(_ kind: KQLToken.Kind) -> KQLToken {
                KQLToken(kind: kind, line: line, column: column, offset: start, endOffset: i)
            }
            if isIdentStart(b) {
                while i < bytes.count, isIdent(bytes[i]) || (bytes[i] == 0x2D && i + 1 < bytes.count && isIdentStart(bytes[i + 1]) && hyphenated(bytes, start, i)) {
                    i += 1
                }
                let word = String(decoding: bytes[start..<i], as: UTF8.self)
                tokens.append(token(.identifier(word)))
                // `datetime(2024-01-31 12:00)`: the literal is raw text up to `)`, not tokens.
                var open = i
                while open < bytes.count, bytes[open] == 0x20 || bytes[open] == 0x09 { open += 1 }
                if word == "datetime", open < bytes.count, bytes[open] == 0x28 {
                    var close = open + 1
                    while close < bytes.count, bytes[close] != 0x29, bytes[close] != 0x0A { close += 1 }
                    guard close < bytes.count, bytes[close] == 0x29 else {
                        throw .syntax(line: line, column: characterColumn(bytes, lineStart, open), found: "an unterminated datetime(", expected: "')' closing the datetime literal")
                    }
                    tokens.append(KQLToken(kind: .symbol("("), line: line, column: characterColumn(bytes, lineStart, open), offset: open, endOffset: open + 1))
                    let raw = String(decoding: bytes[(open + 1)..<close], as: UTF8.self)
                    tokens.append(KQLToken(kind: .string(raw), line: line, column: characterColumn(bytes, lineStart, open + 1), offset: open + 1, endOffset: close))
                    tokens.append(KQLToken(kind: .symbol(")"), line: line, column: characterColumn(bytes, lineStart, close), offset: close, endOffset: close + 1))
                    i = close + 1
                }
                continue
            }
            if isDigit(b) || (b == 0x2E && i + 1 < bytes.count && isDigit(bytes[i + 1]) && !(i > 0 && bytes[i - 1] == 0x2E)) {
                var isReal = false
                while i < bytes.count, isDigit(bytes[i]) { i += 1 }
                if i + 1 < bytes.count, bytes[i] == 0x2E, isDigit(bytes[i + 1]) {
                    isReal = true
                    i += 1
                    while i < bytes.count, isDigit(bytes[i]) { i += 1 }
                }
                if i < bytes.count, bytes[i] == 0x65 || bytes[i] == 0x45,
                   i + 1 < bytes.count, isDigit(bytes[i + 1]) || ((bytes[i + 1] == 0x2D || bytes[i + 1] == 0x2B) && i + 2 < bytes.count && isDigit(bytes[i + 2])) {
                    isReal = true
                    i += 2
                    while i < bytes.count, isDigit(bytes[i]) { i += 1 }
                }
                let numberText = String(decoding: bytes[start..<i], as: UTF8.self)
                // A unit directly after the number makes a timespan.
                var unitEnd = i
                while unitEnd < bytes.count, isIdent(bytes[unitEnd]) { unitEnd += 1 }
                if unitEnd > i {
                    let unit = String(decoding: bytes[i..<unitEnd], as: UTF8.self).lowercased()
                    guard let scale = units.first(where: { $0.0 == unit })?.1, let amount = Double(numberText) else {
                        throw .syntax(line: line, column: column, found: "'\(numberText)\(unit)'", expected: "a number or a timespan such as 5m, 1h, 7d")
                    }
                    i = unitEnd
                    let nanos = (amount * Double(scale)).rounded()
                    guard nanos.isFinite, abs(nanos) < 9.2e18 else {
                        throw .syntax(line: line, column: column, found: "'\(numberText)\(unit)'", expected: "a timespan within ±106,000 days")
                    }
                    tokens.append(token(.timespan(Int64(nanos))))
                    continue
                }
                if isReal {
                    guard let value = Double(numberText) else {
                        throw .syntax(line: line, column: column, found: "'\(numberText)'", expected: "a number")
                    }
                    tokens.append(token(.real(value)))
                } else {
                    guard let value = Int64(numberText) else {
                        throw .syntax(line: line, column: column, found: "'\(numberText)'", expected: "an integer that fits in 64 bits")
                    }
                    tokens.append(token(.integer(value)))
                }
                continue
            }
            if b == 0x22 || b == 0x27 || (b == 0x40 && i + 1 < bytes.count && (bytes[i + 1] == 0x22 || bytes[i + 1] == 0x27)) {
                let verbatim = b == 0x40
                if verbatim { i += 1 }
                let quote = bytes[i]
                i += 1
                var value: [UInt8] = []
                var closed = false
                while i < bytes.count {
                    let c = bytes[i]
                    if c == quote { i += 1; closed = true; break }
                    if c == 0x0A { break }
                    if c == 0x5C && !verbatim, i + 1 < bytes.count {
                        let e = bytes[i + 1]
                        switch e {
                        case 0x6E: value.append(0x0A)
                        case 0x74: value.append(0x09)
                        case 0x72: value.append(0x0D)
                        default: value.append(e)
                        }
                        i += 2
                        continue
                    }
                    value.append(c)
                    i += 1
                }
                guard closed else {
                    throw .syntax(line: line, column: column, found: "an unterminated string", expected: "a closing \(quote == 0x22 ? "\"" : "'")")
                }
                tokens.append(token(.string(String(decoding: value, as: UTF8.self))))
                continue
            }
            var matched = false
            for (symbol, s) in symbolBytes {
                if i + s.count <= bytes.count, bytes[i..<i + s.count].elementsEqual(s) {
                    // `!has` and friends must end at a word boundary (`!hasx` is not `!has`).
                    if isIdent(s[s.count - 1]), i + s.count < bytes.count, isIdent(bytes[i + s.count]) { continue }
                    i += s.count
                    tokens.append(token(.symbol(symbol)))
                    matched = true
                    break
                }
            }
            if !matched {
                var end = i + 1
                while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }  // the whole character
                let character = String(decoding: bytes[i..<end], as: UTF8.self)
                throw .syntax(line: line, column: column, found: "'\(character)'", expected: "an operator, name, number or string")
            }
        }
        tokens.append(KQLToken(kind: .end, line: line, column: characterColumn(bytes, lineStart, bytes.count), offset: bytes.count, endOffset: bytes.count))
        return tokens
    }


    /// Only a few KQL words contain a hyphen (`project-away`, `project-rename`, `mv-expand`):
    /// `a-b` elsewhere is subtraction.
    static func hyphenated(_ bytes: [UInt8], _ start: Int, _ hyphen: Int) -> Bool {
        let word = String(decoding: bytes[start..<hyphen], as: UTF8.self)
        return word == "project" || word == "mv"
    }
}
