// A JSON parser for ingest: one object per line, nested objects flattened to dotted paths,
// arrays kept as their JSON text, numbers kept exact (int64 when integral and in range).

import KymaCore
import KymaKernels

/// A parse failure at a byte column of one line.
public struct JSONParseError: Error, Sendable {
    public var column: Int
    public var reason: String

    public init(column: Int, reason: String) {
        self.column = column
        self.reason = reason
    }
}

/// Keys of recent lines by their position in the line: a file of JSON lines repeats its keys, so
/// a key whose bytes equal the one at its position in the line before is not made into a new
/// String (one allocation and UTF-8 validation per key per line, otherwise).
public struct JSONKeyCache {
    var entries: [(bytes: [UInt8], key: String)] = []

    public init() {}
}

public struct JSONLineParser {
    private let bytes: [UInt8]
    private var index = 0
    private var keys = JSONKeyCache()
    /// Numbers at this path come back as their exact text (a time field in fractional epoch
    /// seconds loses nanoseconds as a Double).
    private var rawNumberPath: String?
    private static let maxDepth = 64
    /// The longest dotted path a field may have, in UTF-8 bytes (as long as an object key).
    public static let maxPathBytes = 1024

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Parses one line holding a JSON object into (dotted path, value) pairs in document order.
    public static func flatten(_ line: ArraySlice<UInt8>, rawNumberPath: String? = nil) throws(JSONParseError) -> [(String, ScalarValue)] {
        var keys = JSONKeyCache()
        return try flatten(line, rawNumberPath: rawNumberPath, keys: &keys)
    }

    /// `flatten`, reusing the keys of earlier lines from `keys` (and leaving this line's there).
    public static func flatten(_ line: ArraySlice<UInt8>, rawNumberPath: String? = nil, keys: inout JSONKeyCache) throws(JSONParseError) -> [(String, ScalarValue)] {
        var parser = JSONLineParser(Array(line))
        parser.rawNumberPath = rawNumberPath
        swap(&parser.keys, &keys)
        defer { swap(&parser.keys, &keys) }
        parser.skipWhitespace()
        guard parser.peek() == UInt8(ascii: "{") else { throw parser.error("expected a JSON object") }
        var fields: [(String, ScalarValue)] = []
        try parser.object(prefix: "", depth: 0, into: &fields)
        parser.skipWhitespace()
        guard parser.index == parser.bytes.count else { throw parser.error("unexpected text after the object") }
        return fields
    }

    /// An object key: from the cache when its bytes (no escapes) equal the key at this position
    /// of the line before.
    private mutating func key(position: Int) throws(JSONParseError) -> String {
        let start = index + 1
        let runEnd = bytes.withUnsafeBufferPointer { JSONStringScan.stop(in: $0, from: start).index }
        guard runEnd < bytes.count, bytes[runEnd] == UInt8(ascii: "\"") else { return try string() }
        if position < keys.entries.count, keys.entries[position].bytes.count == runEnd - start,
           keys.entries[position].bytes.elementsEqual(bytes[start..<runEnd]) {
            index = runEnd + 1
            return keys.entries[position].key
        }
        let key = try string()
        let entry = (bytes: Array(bytes[start..<runEnd]), key: key)
        if position < keys.entries.count { keys.entries[position] = entry } else if position == keys.entries.count { keys.entries.append(entry) }
        return key
    }

    private func error(_ reason: String) -> JSONParseError { JSONParseError(column: index + 1, reason: reason) }
    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let b = peek(), b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { index += 1 }
    }

    private mutating func expect(_ byte: UInt8) throws(JSONParseError) {
        skipWhitespace()
        guard peek() == byte else { throw error("expected '\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    private mutating func object(prefix: String, depth: Int, into fields: inout [(String, ScalarValue)]) throws(JSONParseError) {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        try expect(UInt8(ascii: "{"))
        skipWhitespace()
        if peek() == UInt8(ascii: "}") { index += 1; return }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw error("expected a key string") }
            let key = try self.key(position: fields.count)
            guard !key.isEmpty else { throw error("empty key") }
            // A path is a column name in the catalog (PostgreSQL text: no NUL; indexed: bounded).
            guard !key.utf8.contains(0) else { throw error("key contains a NUL character (\\u0000)") }
            let path = prefix.isEmpty ? key : prefix + "." + key
            guard path.utf8.count <= Self.maxPathBytes else {
                throw error("field path is \(path.utf8.count) bytes long; the limit is \(Self.maxPathBytes)")
            }
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            if peek() == UInt8(ascii: "{") {
                try object(prefix: path, depth: depth + 1, into: &fields)
            } else if path == rawNumberPath, let b = peek(), b == UInt8(ascii: "-") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) {
                let start = index
                _ = try number()
                fields.append((path, .string(String(decoding: bytes[start..<index], as: UTF8.self))))
            } else {
                fields.append((path, try scalar(depth: depth)))
            }
            skipWhitespace()
            if peek() == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "}"))
            return
        }
    }

    private mutating func scalar(depth: Int) throws(JSONParseError) -> ScalarValue {
        guard let b = peek() else { throw error("unexpected end of line") }
        switch b {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "["):
            let start = index
            try skipValue(depth: depth + 1)
            return .string(String(decoding: bytes[start..<index], as: UTF8.self))  // arrays stay JSON text
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character")
        }
    }

    private mutating func literal(_ word: String) throws(JSONParseError) {
        let utf8 = Array(word.utf8)
        guard index + utf8.count <= bytes.count, Array(bytes[index..<index + utf8.count]) == utf8 else { throw error("expected \(word)") }
        index += utf8.count
    }

    /// A number in JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    /// A leading zero (`012`), a bare point or a missing exponent is an error, not a guess.
    private mutating func number() throws(JSONParseError) -> ScalarValue {
        let start = index
        func digits() -> Int {
            let first = index
            while let b = peek(), b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") { index += 1 }
            return index - first
        }
        if peek() == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        let integerDigits = digits()
        guard integerDigits > 0 else { throw JSONParseError(column: start + 1, reason: "invalid number: no digits") }
        if integerDigits > 1 && bytes[integerStart] == UInt8(ascii: "0") {
            throw JSONParseError(column: start + 1, reason: "invalid number '\(text(start))': JSON numbers have no leading zeros")
        }
        var integral = true
        if peek() == UInt8(ascii: ".") {
            index += 1
            integral = false
            guard digits() > 0 else { throw JSONParseError(column: start + 1, reason: "invalid number '\(text(start))': no digits after the point") }
        }
        if let b = peek(), b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
            index += 1
            integral = false
            if let sign = peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw JSONParseError(column: start + 1, reason: "invalid number '\(text(start))': no digits in the exponent") }
        }
        // Integers of up to 18 digits fit an Int64 as they are read; longer ones go through text.
        if integral, index - integerStart <= 18 {
            var value: Int64 = 0
            for i in integerStart..<index { value = value * 10 + Int64(bytes[i] &- UInt8(ascii: "0")) }
            return .int64(bytes[start] == UInt8(ascii: "-") ? -value : value)
        }
        let text = text(start)
        if integral, let value = Int64(text) { return .int64(value) }
        guard let value = Double(text), value.isFinite else { throw JSONParseError(column: start + 1, reason: "invalid number '\(text)'") }
        return .float64(value)
    }

    private func text(_ start: Int) -> String {
        String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func string() throws(JSONParseError) -> String {
        index += 1  // opening quote
        // Fast path: most strings have no escapes; find the closing quote in one scan (the
        // kernel k2i's record decoder uses too).
        let start = index
        let runEnd = bytes.withUnsafeBufferPointer { JSONStringScan.stop(in: $0, from: start).index }
        if runEnd < bytes.count, bytes[runEnd] == UInt8(ascii: "\"") {
            index = runEnd + 1
            guard let text = String(validating: bytes[start..<runEnd], as: UTF8.self) else { throw error("string is not valid UTF-8") }
            return text
        }
        var out: [UInt8] = Array(bytes[start..<runEnd])
        index = runEnd
        while true {
            guard let b = peek() else { throw error("unterminated string") }
            index += 1
            if b == UInt8(ascii: "\"") { break }
            if b < 0x20 { throw error("control character in string") }
            guard b == UInt8(ascii: "\\") else { out.append(b); continue }
            guard let e = peek() else { throw error("unterminated escape") }
            index += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {  // a surrogate pair
                    guard peek() == UInt8(ascii: "\\") else { throw error("lone high surrogate") }
                    index += 1
                    guard peek() == UInt8(ascii: "u") else { throw error("lone high surrogate") }
                    index += 1
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw error("invalid low surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                out.append(contentsOf: Array(String(Character(unicode)).utf8))
            default: throw error("invalid escape")
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return text
    }

    private mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
            throw error("invalid \\u escape")
        }
        index += 4
        return value
    }

    /// Skips one value (for arrays, whose text is kept), validating it.
    private mutating func skipValue(depth: Int) throws(JSONParseError) {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        skipWhitespace()
        switch peek() {
        case UInt8(ascii: "["):
            index += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { index += 1; return }
            while true {
                try skipValue(depth: depth + 1)
                skipWhitespace()
                if peek() == UInt8(ascii: ",") { index += 1; continue }
                try expect(UInt8(ascii: "]"))
                return
            }
        case UInt8(ascii: "{"):
            var ignored: [(String, ScalarValue)] = []
            try object(prefix: "_", depth: depth + 1, into: &ignored)
        default:
            _ = try scalar(depth: depth)
        }
    }
}
