// TOML 1.0, read the one way every Kyma config is read (kyma.toml, k2i's config). Written here
// rather than taken from TOMLKit because TOMLKit's bundled C++ parser aborts the process on some
// malformed files (an assertion in toml++'s key parser, found by fuzzing); a config file must get
// an error naming its line, whatever it holds.
//
// Covered: comments; bare, quoted and dotted keys; tables and arrays of tables (with TOML's rules
// against redefining); basic and literal strings, single- and multi-line, with every escape;
// integers (decimal with underscores, hex, octal, binary); floats (with exponent, inf, nan);
// booleans; dates and times (kept as their text); arrays and inline tables. Nesting is bounded.

public struct TOMLError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var reason: String

    public var description: String { "line \(line), column \(column): \(reason)" }
}

/// A TOML table: its keys in document order.
public struct TOMLTable: Sendable, Hashable, Sequence {
    public private(set) var entries: [(key: String, value: TOMLValue)] = []

    public init() {}

    public var count: Int { entries.count }

    public subscript(key: String) -> TOMLValue? {
        entries.first { $0.key == key }?.value
    }

    mutating func set(_ key: String, _ value: TOMLValue) {
        if let index = entries.firstIndex(where: { $0.key == key }) { entries[index].value = value } else { entries.append((key, value)) }
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: TOMLValue)]> { entries.makeIterator() }

    public static func == (a: TOMLTable, b: TOMLTable) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for (key, value) in entries {
            hasher.combine(key)
            hasher.combine(value)
        }
    }
}

public indirect enum TOMLValue: Sendable, Hashable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    /// A date, time or date-time, as written.
    case datetime(String)
    case array([TOMLValue])
    case table(TOMLTable)

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var int: Int? { if case .integer(let i) = self { Int(i) } else { nil } }
    public var double: Double? { if case .float(let d) = self { d } else { nil } }
    public var bool: Bool? { if case .boolean(let b) = self { b } else { nil } }
    public var array: [TOMLValue]? { if case .array(let a) = self { a } else { nil } }
    public var table: TOMLTable? { if case .table(let t) = self { t } else { nil } }
}

public enum TOML {
    /// The document's root table, or an error naming the line and column at fault.
    public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
        var parser = TOMLParser(Array(text.unicodeScalars))
        return try parser.document()
    }
}

struct TOMLParser {
    let text: [Unicode.Scalar]
    var i = 0
    var line = 1
    var lineStart = 0
    var depth = 0
    var root = TOMLTable()
    /// Tables made by a [header] (each at most once) and by dotted keys / inline tables (closed).
    var explicitTables = Set<[String]>()
    var closedTables = Set<[String]>()
    var arraysOfTables = Set<[String]>()
    /// Paths holding an inline table or other value: nothing may be added under them.
    var inlineTables = Set<[String]>()
    /// The current table's path and, for [[x]], the index of its last element.
    var current: [String] = []

    init(_ text: [Unicode.Scalar]) { self.text = text }

    func fail(_ reason: String) -> TOMLError { TOMLError(line: line, column: i - lineStart + 1, reason: reason) }

    var atEnd: Bool { i >= text.count }
    var peek: Unicode.Scalar? { atEnd ? nil : text[i] }
    func peek(_ offset: Int) -> Unicode.Scalar? { i + offset < text.count ? text[i + offset] : nil }

    mutating func advance() {
        if text[i] == "\n" { line += 1; lineStart = i + 1 }
        i += 1
    }

    mutating func skipSpaces() { while let c = peek, c == " " || c == "\t" { advance() } }

    mutating func skipComment() throws(TOMLError) {
        guard peek == "#" else { return }
        while let c = peek, c != "\n" {
            if c.value < 0x20 && c != "\t" || c.value == 0x7F { throw fail("control character in a comment") }
            advance()
        }
    }

    /// Spaces, a comment, and the end of the line (or of the text).
    mutating func endOfLine() throws(TOMLError) {
        skipSpaces()
        try skipComment()
        if peek == "\r", peek(1) == "\n" { advance() }
        guard atEnd || peek == "\n" else { throw fail("expected the end of the line, found '\(peek.map { String($0) } ?? "")'") }
        if !atEnd { advance() }
    }

    mutating func document() throws(TOMLError) -> TOMLTable {
        while !atEnd {
            skipSpaces()
            guard let c = peek else { break }
            if c == "#" || c == "\n" || c == "\r" { try endOfLine(); continue }
            if c == "[" {
                try header()
            } else {
                let key = try self.key()
                skipSpaces()
                guard peek == "=" else { throw fail("expected '=' after the key") }
                advance()
                skipSpaces()
                let value = try self.value()
                try assign(current, key, value)
            }
            try endOfLine()
        }
        return root
    }

    // MARK: - Keys and tables

    static func isBare(_ c: Unicode.Scalar) -> Bool {
        (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "_" || c == "-"
    }

    mutating func key() throws(TOMLError) -> [String] {
        var parts: [String] = []
        while true {
            skipSpaces()
            guard let c = peek else { throw fail("expected a key") }
            if c == "\"" {
                guard peek(1) != "\"" || peek(2) != "\"" else { throw fail("a key cannot be a multi-line string") }
                parts.append(try basicString())
            } else if c == "'" {
                guard peek(1) != "'" || peek(2) != "'" else { throw fail("a key cannot be a multi-line string") }
                parts.append(try literalString())
            } else if Self.isBare(c) {
                var word = ""
                while let b = peek, Self.isBare(b) { word.unicodeScalars.append(b); advance() }
                parts.append(word)
            } else {
                throw fail("expected a key, found '\(c)'")
            }
            skipSpaces()
            guard peek == "." else { return parts }
            advance()
        }
    }

    mutating func header() throws(TOMLError) {
        advance()  // [
        let isArray = peek == "["
        if isArray { advance() }
        let path = try key()
        guard peek == "]" else { throw fail("expected ']' closing the table header") }
        advance()
        if isArray {
            guard peek == "]" else { throw fail("expected ']]' closing the array-of-tables header") }
            advance()
            try appendTable(path)
        } else {
            guard !explicitTables.contains(path), !closedTables.contains(path), !arraysOfTables.contains(path), !inlineTables.contains(path) else {
                throw fail("table [\(path.joined(separator: "."))] is defined twice")
            }
            explicitTables.insert(path)
            try ensureTable(path)
        }
        current = path
    }

    /// Walks (making as needed) the tables of `path` in `root`, and applies `body` to the last.
    /// An array is entered only when it is an array of tables ([[x]]): its last element.
    mutating func withTable(_ path: [String], _ body: (inout TOMLTable) throws(TOMLError) -> Void) throws(TOMLError) {
        let arrays = arraysOfTables, inline = inlineTables
        let notTable = fail("'\(path.joined(separator: "."))' is already a value, not a table")
        func descend(_ table: inout TOMLTable, _ rest: ArraySlice<String>, _ walked: [String]) throws(TOMLError) {
            guard let head = rest.first else { try body(&table); return }
            let here = walked + [head]
            guard !inline.contains(here) else { throw notTable }  // inline tables are whole
            switch table[head] {
            case nil:
                var child = TOMLTable()
                try descend(&child, rest.dropFirst(), here)
                table.set(head, .table(child))
            case .table(var child)?:
                try descend(&child, rest.dropFirst(), here)
                table.set(head, .table(child))
            case .array(var items)? where arrays.contains(here) && !items.isEmpty:
                guard case .table(var last) = items[items.count - 1] else { throw notTable }
                try descend(&last, rest.dropFirst(), here)
                items[items.count - 1] = .table(last)
                table.set(head, .array(items))
            default:
                throw notTable
            }
        }
        try descend(&root, path[...], [])
    }

    mutating func ensureTable(_ path: [String]) throws(TOMLError) {
        try withTable(path) { _ throws(TOMLError) in }
    }

    mutating func appendTable(_ path: [String]) throws(TOMLError) {
        guard !explicitTables.contains(path), !inlineTables.contains(path), !closedTables.contains(path) else {
            throw fail("[[\(path.joined(separator: "."))]] is already a table or value")
        }
        let parent = Array(path.dropLast()), name = path[path.count - 1]
        let existed = arraysOfTables.contains(path)
        try withTable(parent) { table throws(TOMLError) in
            switch table[name] {
            case nil where !existed: table.set(name, .array([.table(TOMLTable())]))
            case .array(let items)? where existed: table.set(name, .array(items + [.table(TOMLTable())]))
            default: throw TOMLError(line: 0, column: 0, reason: "'\(name)' is not an array of tables")
            }
        }
        arraysOfTables.insert(path)
        // Tables under the previous element may be defined again under the new one.
        explicitTables = explicitTables.filter { !($0.count > path.count && Array($0.prefix(path.count)) == path) }
    }

    /// `key = value` in the table at `table`: dotted keys make tables, which close.
    mutating func assign(_ table: [String], _ key: [String], _ value: TOMLValue) throws(TOMLError) {
        let full = table + key
        for length in (table.count + 1)..<full.count {
            let prefix = Array(full.prefix(length))
            if explicitTables.contains(prefix) && length > table.count { throw fail("table '\(prefix.joined(separator: "."))' is defined twice") }
            closedTables.insert(prefix)
        }
        let name = key[key.count - 1]
        let failure = fail("key '\(full.joined(separator: "."))' is defined twice")
        try withTable(Array(full.dropLast())) { target throws(TOMLError) in
            guard target[name] == nil else { throw failure }
            target.set(name, value)
        }
        inlineTables.insert(full)
    }

    // MARK: - Values

    mutating func value() throws(TOMLError) -> TOMLValue {
        guard let c = peek else { throw fail("expected a value") }
        switch c {
        case "\"":
            if peek(1) == "\"", peek(2) == "\"" { return .string(try multilineBasicString()) }
            return .string(try basicString())
        case "'":
            if peek(1) == "'", peek(2) == "'" { return .string(try multilineLiteralString()) }
            return .string(try literalString())
        case "[": return try arrayValue()
        case "{": return try inlineTable()
        case "t", "f":
            if matches("true") { i += 4; return .boolean(true) }
            if matches("false") { i += 5; return .boolean(false) }
            throw fail("expected a value, found '\(word())'")
        default:
            return try numberOrDate()
        }
    }

    func matches(_ literal: String) -> Bool {
        let scalars = Array(literal.unicodeScalars)
        guard i + scalars.count <= text.count, Array(text[i..<i + scalars.count]) == scalars else { return false }
        if let next = peek(scalars.count), Self.isBare(next) { return false }
        return true
    }

    func word() -> String {
        var out = ""
        var k = i
        while k < text.count, !" \t\n\r,]}#".unicodeScalars.contains(text[k]) { out.unicodeScalars.append(text[k]); k += 1 }
        return out
    }

    mutating func enter() throws(TOMLError) {
        depth += 1
        guard depth <= 64 else { throw fail("values nested deeper than 64 levels") }
    }

    mutating func arrayValue() throws(TOMLError) -> TOMLValue {
        try enter()
        defer { depth -= 1 }
        advance()  // [
        var items: [TOMLValue] = []
        while true {
            try skipWhitespaceAndComments()
            if peek == "]" { advance(); return .array(items) }
            items.append(try value())
            try skipWhitespaceAndComments()
            if peek == "," { advance(); continue }
            guard peek == "]" else { throw fail("expected ',' or ']' in the array") }
            advance()
            return .array(items)
        }
    }

    mutating func skipWhitespaceAndComments() throws(TOMLError) {
        while let c = peek {
            if c == " " || c == "\t" || c == "\n" { advance() } else if c == "\r", peek(1) == "\n" { advance() } else if c == "#" { try skipComment() } else { return }
        }
    }

    mutating func inlineTable() throws(TOMLError) -> TOMLValue {
        try enter()
        defer { depth -= 1 }
        advance()  // {
        var table = TOMLTable()
        var defined = Set<[String]>()
        skipSpaces()
        if peek == "}" { advance(); return .table(table) }
        while true {
            let key = try self.key()
            skipSpaces()
            guard peek == "=" else { throw fail("expected '=' in the inline table") }
            advance()
            skipSpaces()
            let value = try self.value()
            guard defined.insert(key).inserted else { throw fail("key '\(key.joined(separator: "."))' is defined twice") }
            try Self.insert(&table, key[...], value, fail("key '\(key.joined(separator: "."))' is defined twice"))
            skipSpaces()
            if peek == "," { advance(); skipSpaces(); continue }
            guard peek == "}" else { throw fail("expected ',' or '}' in the inline table (which is one line)") }
            advance()
            return .table(table)
        }
    }

    static func insert(_ table: inout TOMLTable, _ key: ArraySlice<String>, _ value: TOMLValue, _ failure: TOMLError) throws(TOMLError) {
        let head = key[key.startIndex]
        if key.count == 1 {
            guard table[head] == nil else { throw failure }
            table.set(head, value)
            return
        }
        var child: TOMLTable
        switch table[head] {
        case nil: child = TOMLTable()
        case .table(let existing)?: child = existing
        default: throw failure
        }
        try insert(&child, key.dropFirst(), value, failure)
        table.set(head, .table(child))
    }

    // MARK: - Strings

    mutating func basicString() throws(TOMLError) -> String {
        advance()  // "
        var out = String.UnicodeScalarView()
        while true {
            guard let c = peek else { throw fail("unterminated string") }
            if c == "\"" { advance(); return String(out) }
            if c == "\n" { throw fail("unterminated string (a basic string is one line)") }
            if c == "\\" { out.append(try escape()); continue }
            if c.value < 0x20 && c != "\t" || c.value == 0x7F { throw fail("control character in a string") }
            out.append(c)
            advance()
        }
    }

    mutating func escape() throws(TOMLError) -> Unicode.Scalar {
        advance()  // backslash
        guard let e = peek else { throw fail("unterminated escape") }
        advance()
        switch e {
        case "b": return "\u{8}"
        case "t": return "\t"
        case "n": return "\n"
        case "f": return "\u{C}"
        case "r": return "\r"
        case "e": return "\u{1B}"
        case "\"": return "\""
        case "\\": return "\\"
        case "u", "U":
            let digits = e == "u" ? 4 : 8
            var value: UInt32 = 0
            for _ in 0..<digits {
                guard let h = peek, let v = UInt32(String(h), radix: 16) else { throw fail("bad \\\(e) escape") }
                value = value * 16 + v
                advance()
            }
            guard let scalar = Unicode.Scalar(value) else { throw fail("\\\(e) escape is not a Unicode scalar value") }
            return scalar
        default:
            throw fail("unknown escape \\\(e)")
        }
    }

    mutating func multilineBasicString() throws(TOMLError) -> String {
        i += 3
        if peek == "\n" { advance() } else if peek == "\r", peek(1) == "\n" { advance(); advance() }
        var out = String.UnicodeScalarView()
        while true {
            guard let c = peek else { throw fail("unterminated multi-line string") }
            if c == "\"", peek(1) == "\"", peek(2) == "\"" {
                // Up to two more quotes belong to the string.
                var extra = 0
                while peek(3 + extra) == "\"", extra < 2 { extra += 1 }
                for _ in 0..<extra { out.append("\"") }
                i += 3 + extra
                return String(out)
            }
            if c == "\\" {
                // A backslash ending a line trims the line break and the whitespace after it.
                var k = i + 1
                while k < text.count, text[k] == " " || text[k] == "\t" { k += 1 }
                if k < text.count, text[k] == "\n" || (text[k] == "\r" && k + 1 < text.count && text[k + 1] == "\n") {
                    advance()  // the backslash
                    while let w = peek, w == " " || w == "\t" || w == "\n" || w == "\r" { advance() }
                    continue
                }
                out.append(try escape())
                continue
            }
            if c.value < 0x20 && c != "\t" && c != "\n" && c != "\r" || c.value == 0x7F { throw fail("control character in a string") }
            out.append(c)
            advance()
        }
    }

    mutating func literalString() throws(TOMLError) -> String {
        advance()  // '
        var out = String.UnicodeScalarView()
        while true {
            guard let c = peek else { throw fail("unterminated string") }
            if c == "'" { advance(); return String(out) }
            if c == "\n" { throw fail("unterminated string (a literal string is one line)") }
            if c.value < 0x20 && c != "\t" || c.value == 0x7F { throw fail("control character in a string") }
            out.append(c)
            advance()
        }
    }

    mutating func multilineLiteralString() throws(TOMLError) -> String {
        i += 3
        if peek == "\n" { advance() } else if peek == "\r", peek(1) == "\n" { advance(); advance() }
        var out = String.UnicodeScalarView()
        while true {
            guard let c = peek else { throw fail("unterminated multi-line string") }
            if c == "'", peek(1) == "'", peek(2) == "'" {
                var extra = 0
                while peek(3 + extra) == "'", extra < 2 { extra += 1 }
                for _ in 0..<extra { out.append("'") }
                i += 3 + extra
                return String(out)
            }
            if c.value < 0x20 && c != "\t" && c != "\n" && c != "\r" || c.value == 0x7F { throw fail("control character in a string") }
            out.append(c)
            advance()
        }
    }

    // MARK: - Numbers and dates

    mutating func numberOrDate() throws(TOMLError) -> TOMLValue {
        let start = i
        var raw = ""
        // A date-time may hold one space between date and time: `1979-05-27 07:32:00`.
        while let c = peek, !" \t\n\r,]}#".unicodeScalars.contains(c) { raw.unicodeScalars.append(c); advance() }
        if raw.count == 10, peek == " ", let next = peek(1), next >= "0" && next <= "9", Self.isDate(raw) {
            raw.unicodeScalars.append(" ")
            advance()
            while let c = peek, !" \t\n\r,]}#".unicodeScalars.contains(c) { raw.unicodeScalars.append(c); advance() }
        }
        guard !raw.isEmpty else { i = start; throw fail("expected a value") }
        if Self.isDate(String(raw.prefix(10))) || (raw.count >= 8 && raw.dropFirst(2).first == ":") {
            guard Self.isDateTime(raw) else { throw fail("'\(raw)' is not a date or time") }
            return .datetime(raw)
        }
        if let value = Self.integer(raw) { return .integer(value) }
        if let value = Self.float(raw) { return .float(value) }
        throw fail("'\(raw)' is not a value (strings need quotes)")
    }

    static func digits(_ s: Substring) -> Bool { !s.isEmpty && s.allSatisfy { $0 >= "0" && $0 <= "9" } }

    static func isDate(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 3 && parts[0].count == 4 && parts[1].count == 2 && parts[2].count == 2 && parts.allSatisfy(digits)
    }

    static func isTime(_ s: Substring) -> Bool {
        let main = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let hms = main[0].split(separator: ":", omittingEmptySubsequences: false)
        guard hms.count == 3, hms.allSatisfy({ $0.count == 2 && digits($0) }) else { return false }
        return main.count == 1 || digits(main[1])
    }

    static func isDateTime(_ s: String) -> Bool {
        if isDate(s) { return true }
        if isTime(Substring(s)) { return true }
        guard s.count > 11, isDate(String(s.prefix(10))) else { return false }
        let separator = s[s.index(s.startIndex, offsetBy: 10)]
        guard separator == "T" || separator == "t" || separator == " " else { return false }
        var time = s.dropFirst(11)
        if time.hasSuffix("Z") || time.hasSuffix("z") { time = time.dropLast() } else if let sign = time.lastIndex(where: { $0 == "+" || $0 == "-" }) {
            let offset = time[time.index(after: sign)...].split(separator: ":", omittingEmptySubsequences: false)
            guard offset.count == 2, offset.allSatisfy({ $0.count == 2 && digits($0) }) else { return false }
            time = time[..<sign]
        }
        return isTime(time)
    }

    /// Underscores only between digits.
    static func underscored(_ s: Substring, allowed: (Character) -> Bool) -> String? {
        guard let first = s.first, let last = s.last, first != "_", last != "_", !s.contains("__") else { return nil }
        guard s.allSatisfy({ $0 == "_" || allowed($0) }) else { return nil }
        return String(s.filter { $0 != "_" })
    }

    static func integer(_ raw: String) -> Int64? {
        var s = Substring(raw)
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where s.hasPrefix(prefix) {
            guard let body = underscored(s.dropFirst(2), allowed: { Int(String($0), radix: radix) != nil }) else { return nil }
            return Int64(body, radix: radix)
        }
        var sign = ""
        if s.first == "+" || s.first == "-" { sign = s.first == "-" ? "-" : ""; s = s.dropFirst() }
        guard let body = underscored(s, allowed: { $0 >= "0" && $0 <= "9" }) else { return nil }
        guard body == "0" || !body.hasPrefix("0") else { return nil }  // no leading zeros
        return Int64(sign + body)
    }

    static func float(_ raw: String) -> Double? {
        var s = Substring(raw)
        var negative = false
        if s.first == "+" || s.first == "-" { negative = s.first == "-"; s = s.dropFirst() }
        if s == "inf" { return negative ? -.infinity : .infinity }
        if s == "nan" { return .nan }
        // int part, then a fraction and/or an exponent.
        let exponentAt = s.firstIndex { $0 == "e" || $0 == "E" }
        let mantissa = exponentAt.map { s[..<$0] } ?? s
        let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = underscored(parts[0], allowed: { $0 >= "0" && $0 <= "9" }), whole == "0" || !whole.hasPrefix("0") else { return nil }
        var text = whole
        if parts.count == 2 {
            guard let fraction = underscored(parts[1], allowed: { $0 >= "0" && $0 <= "9" }) else { return nil }
            text += "." + fraction
        }
        if let exponentAt {
            var exponent = s[s.index(after: exponentAt)...]
            var exponentSign = ""
            if exponent.first == "+" || exponent.first == "-" { exponentSign = String(exponent.first!); exponent = exponent.dropFirst() }
            guard let digits = underscored(exponent, allowed: { $0 >= "0" && $0 <= "9" }) else { return nil }
            text += "e" + exponentSign + digits
        }
        guard parts.count == 2 || exponentAt != nil, let value = Double(text) else { return nil }
        return negative ? -value : value
    }
}
