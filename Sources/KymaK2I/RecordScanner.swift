// The single-pass JSON scanner behind `RecordDecoder`: parses one record's bytes into per-field
// slots (typed values, or byte ranges of strings in the record), then appends the slots to the
// columns only when the whole record is valid, so a rejected record leaves no partial row.

import Foundation
import KymaCore
import KymaIngest
import KymaKernels

struct RecordScanner {
    /// What one field of the current record holds.
    enum Slot {
        case absent
        case null
        case int(Int64)
        case double(Double)
        case bool(Bool)
        /// UTF-8 text at these bytes of the record (a string without escapes, or an array's JSON).
        case text(Range<Int>)
        /// Unescaped UTF-8 text at these bytes of `unescaped`.
        case unescapedText(Range<Int>)
        /// A value that is not of the field's type (the message says which).
        case wrong(String)
    }

    let decoder: RecordDecoder
    var slots: [Slot]
    var unescaped: [UInt8] = []
    /// The dotted path of the nested object being parsed (empty at the top level).
    var path: [UInt8] = []
    /// The field the next key most likely names (records usually repeat one key order).
    var predicted = 0
    /// Keys of the current record that no field names, with the type their value suggests
    /// (only when the decoder discovers fields: schema evolution).
    var discovered: [(name: [UInt8], type: DataType)] = []

    // The current record.
    var bytes = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    var index = 0

    init(decoder: RecordDecoder) {
        self.decoder = decoder
        slots = Array(repeating: .absent, count: decoder.fields.count)
    }

    struct Failure: Error {
        var column: Int
        var reason: String
    }

    /// Decodes one record; appends it as a row to `out` and returns nil, or returns why not.
    mutating func decode(_ record: UnsafeBufferPointer<UInt8>, into out: inout DecodedRecords) -> Rejection? {
        bytes = record
        index = 0
        for k in slots.indices { slots[k] = .absent }
        unescaped.removeAll(keepingCapacity: true)
        path.removeAll(keepingCapacity: true)
        predicted = 0
        discovered.removeAll(keepingCapacity: true)
        do throws(Failure) {
            skipWhitespace()
            guard peek() == UInt8(ascii: "{") else { throw failure("expected a JSON object") }
            try object(depth: 0)
            skipWhitespace()
            guard index == bytes.count else { throw failure("unexpected text after the object") }
        } catch {
            return .invalidJSON("column \(error.column): \(error.reason)")
        }
        // Check in field order (the first wrong field is the one reported), then append. (By
        // index: enumerating `slots` retained and released it per record.)
        let keyIndex = decoder.keyIndex
        for k in slots.indices {
            switch slots[k] {
            case .wrong(let message): return .wrongType(message)
            case .absent, .null: if k == keyIndex { return .missingKey(decoder.fields[k].name) }
            default: break
            }
        }
        for k in slots.indices {
            switch slots[k] {
            case .absent, .null, .wrong: out.columns[k].appendNull()
            case .int(let v): out.columns[k].appendInt(v)
            case .double(let v): out.columns[k].appendDouble(v)
            case .bool(let v): out.columns[k].appendBool(v)
            case .text(let range): out.columns[k].appendBytes(UnsafeBufferPointer(rebasing: bytes[range]))
            case .unescapedText(let range): unescaped.withUnsafeBufferPointer { out.columns[k].appendBytes(UnsafeBufferPointer(rebasing: $0[range])) }
            }
        }
        if let key = decoder.keyIndex { out.keyHashes.append(keyHash(slots[key])) }
        out.rowCount += 1
        for (name, type) in discovered {
            let key = String(decoding: name, as: UTF8.self)
            out.newFields[key] = RecordDecoder.wider(out.newFields[key], type)
        }
        return nil
    }

    /// The hash of the key's text: its bytes in the record (unescaped), or a number's or
    /// boolean's Swift text (what `HotBuffer.lookup` compares against).
    private func keyHash(_ slot: Slot) -> UInt64 {
        switch slot {
        case .text(let range): KeyIndex.hash(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[range])))
        case .unescapedText(let range): unescaped.withUnsafeBytes { KeyIndex.hash(UnsafeRawBufferPointer(rebasing: $0[range])) }
        case .int(let v): KeyIndex.hash(String(v))
        case .double(let v): KeyIndex.hash(String(v))
        case .bool(let v): KeyIndex.hash(String(v))
        default: KeyIndex.hash("")
        }
    }

    // MARK: - Structure

    private func failure(_ reason: String) -> Failure { Failure(column: index + 1, reason: reason) }

    @inline(__always)
    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    @inline(__always)
    private mutating func skipWhitespace() {
        while index < bytes.count {
            let b = bytes[index]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            index += 1
        }
    }

    private mutating func expect(_ byte: UInt8) throws(Failure) {
        skipWhitespace()
        guard peek() == byte else { throw failure("expected '\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    /// The members of the object at `index`. `matching`: keys are matched against the schema
    /// (by their dotted path) and values parsed into slots; otherwise they are only validated
    /// (an object inside an array, or one no field can be under).
    private mutating func object(depth: Int, matching: Bool = true) throws(Failure) {
        guard depth < 64 else { throw failure("nesting deeper than 64") }
        index += 1  // {
        skipWhitespace()
        if peek() == UInt8(ascii: "}") { index += 1; return }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw failure("expected a key string") }
            let keyStart = index + 1
            let key = try string()
            guard !key.isEmpty else { throw Failure(column: keyStart, reason: "empty key") }
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            if !matching {
                try skipValue(depth: depth + 1)
            } else if peek() == UInt8(ascii: "{") {
                // A nested object: its keys are named by the dotted path.
                let saved = path.count
                if !path.isEmpty { path.append(UInt8(ascii: ".")) }
                append(key, to: &path)
                try object(depth: depth + 1)
                path.removeSubrange(saved...)
            } else {
                let field: Int?
                if path.isEmpty, case .raw(let range) = key {
                    field = match(UnsafeBufferPointer(rebasing: bytes[range]))
                } else {
                    field = dotted(key).withUnsafeBufferPointer { match($0) }
                }
                if field == nil, decoder.discoversFields, let type = suggestedType() {
                    discovered.append((dotted(key), type))
                }
                try value(for: field, depth: depth)
            }
            skipWhitespace()
            if peek() == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "}"))
            return
        }
    }

    /// `key`'s full name: the dotted path of the objects it is in, then the key.
    private func dotted(_ key: Text) -> [UInt8] {
        var name = path
        if !name.isEmpty { name.append(UInt8(ascii: ".")) }
        append(key, to: &name)
        return name
    }

    /// The column type the value at `index` suggests for a new field: strings and arrays (kept
    /// as JSON text) are strings, numbers longs or doubles, booleans booleans; null says nothing.
    private func suggestedType() -> DataType? {
        guard let b = peek() else { return nil }
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "["): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            var i = index
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): return .float64
                case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"): i += 1
                default: return .int64
                }
            }
            return .int64
        default: return nil
        }
    }

    /// The field named exactly `name`, trying the predicted one first.
    private mutating func match(_ name: UnsafeBufferPointer<UInt8>) -> Int? {
        let names = decoder.names
        if predicted < names.count, Self.equal(names[predicted], name) {
            predicted += 1
            return predicted - 1
        }
        for (k, candidate) in names.enumerated() where Self.equal(candidate, name) {
            predicted = k + 1
            return k
        }
        return nil
    }

    @inline(__always)
    private static func equal(_ a: [UInt8], _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBufferPointer { a in
            a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
        }
    }

    // MARK: - Values

    /// Parses the value at `index` as `field`'s type into its slot (or skips it when the schema
    /// has no such field).
    private mutating func value(for field: Int?, depth: Int) throws(Failure) {
        guard let b = peek() else { throw failure("unexpected end of the record") }
        guard let field else {
            try skipValue(depth: depth)
            return
        }
        let type = decoder.fields[field].type
        let valueStart = index
        switch b {
        case UInt8(ascii: "\""):
            let text = try string()
            switch type {
            case .string:
                switch text {
                case .raw(let range): slots[field] = .text(range)
                case .unescaped(let decoded):
                    slots[field] = .unescapedText(unescaped.count..<(unescaped.count + decoded.count))
                    unescaped.append(contentsOf: decoded)
                }
            case .timestamp:
                let nanos = withBytes(text) { RFC3339.parse(bytes: $0) }
                slots[field] = nanos.map { .int($0) } ?? wrong(field, valueStart)
            default: slots[field] = wrong(field, valueStart)
            }
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            let v = try literalBool()
            slots[field] = type == .bool ? .bool(v) : wrong(field, valueStart)
        case UInt8(ascii: "n"):
            try literal("null")
            slots[field] = .null
        case UInt8(ascii: "["):
            try skipValue(depth: depth + 1)
            slots[field] = type == .string ? .text(valueStart..<index) : wrong(field, valueStart)  // arrays stay JSON text
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            switch try number() {
            case .int(let v):
                switch type {
                case .int64: slots[field] = .int(v)
                case .float64: slots[field] = .double(Double(v))
                default: slots[field] = wrong(field, valueStart)
                }
            case .double(let v):
                switch type {
                case .float64: slots[field] = .double(v)
                case .int64 where v == v.rounded() && abs(v) < 9e18: slots[field] = .int(Int64(v))
                default: slots[field] = wrong(field, valueStart)
                }
            default: break
            }
        default:
            throw failure("unexpected character")
        }
    }

    private func wrong(_ field: Int, _ start: Int) -> Slot {
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<min(index, start + 80)]), as: UTF8.self)
        return .wrong("'\(decoder.fields[field].name)' should be \(decoder.fields[field].type.rawValue), got \(text)")
    }

    /// A string's content: its bytes in the record when it has no escapes, else unescaped.
    enum Text {
        case raw(Range<Int>)
        case unescaped([UInt8])

        var isEmpty: Bool {
            switch self {
            case .raw(let range): range.isEmpty
            case .unescaped(let bytes): bytes.isEmpty
            }
        }
    }

    /// The string at `index`, validated as UTF-8 and unescaped when it has escapes.
    private mutating func string() throws(Failure) -> Text {
        let start = index + 1
        let (end, escaped, ascii) = try scanString()
        if escaped { return .unescaped(try unescape(start..<end)) }
        if !ascii, String(validating: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self) == nil {
            throw Failure(column: start, reason: "string is not valid UTF-8")
        }
        return .raw(start..<end)
    }

    private func append(_ text: Text, to out: inout [UInt8]) {
        switch text {
        case .raw(let range): out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[range]))
        case .unescaped(let decoded): out.append(contentsOf: decoded)
        }
    }

    private func withBytes<R>(_ text: Text, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        switch text {
        case .raw(let range): body(UnsafeBufferPointer(rebasing: bytes[range]))
        case .unescaped(let decoded): decoded.withUnsafeBufferPointer(body)
        }
    }

    /// Finds the closing quote of the string at `index` (32 bytes at a time while no byte is a
    /// quote, backslash or control character: `JSONStringScan`), moves past it, and returns
    /// where its content ends, whether it has escapes, and whether it is all ASCII.
    private mutating func scanString() throws(Failure) -> (end: Int, escaped: Bool, ascii: Bool) {
        var i = index + 1
        var escaped = false, ascii = true
        while true {
            let (stop, nonASCII) = JSONStringScan.stop(in: bytes, from: i)
            if nonASCII { ascii = false }
            i = stop
            guard i < bytes.count else { index = i; throw failure("unterminated string") }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { break }
            if b < 0x20 { index = i; throw failure("control character in string") }
            // A backslash: the escaped byte is skipped whatever it is (unescape validates it).
            escaped = true
            if i + 1 < bytes.count, bytes[i + 1] >= 0x80 { ascii = false }
            i += 2
        }
        index = i + 1
        return (i, escaped, ascii)
    }

    /// The text of a string with escapes (content bytes `range`), unescaped and validated.
    private func unescape(_ range: Range<Int>) throws(Failure) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var i = range.lowerBound
        func hex4(_ at: Int) throws(Failure) -> UInt32 {
            guard at + 4 <= range.upperBound else { throw Failure(column: at + 1, reason: "invalid \\u escape") }
            var v: UInt32 = 0
            for b in bytes[at..<at + 4] {
                let digit: UInt8
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - 48
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - 87
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - 55
                default: throw Failure(column: at + 1, reason: "invalid \\u escape")
                }
                v = v << 4 | UInt32(digit)
            }
            return v
        }
        while i < range.upperBound {
            let b = bytes[i]
            i += 1
            guard b == UInt8(ascii: "\\") else { out.append(b); continue }
            guard i < range.upperBound else { throw Failure(column: i + 1, reason: "unterminated escape") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(i)
                i += 4
                if scalar >= 0xD800 && scalar < 0xDC00 {  // a surrogate pair
                    guard i + 1 < range.upperBound, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw Failure(column: i + 1, reason: "lone high surrogate")
                    }
                    let low = try hex4(i + 2)
                    guard low >= 0xDC00 && low < 0xE000 else { throw Failure(column: i + 1, reason: "invalid low surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw Failure(column: i, reason: "invalid \\u escape") }
                out.append(contentsOf: String(Character(unicode)).utf8)
            default: throw Failure(column: i, reason: "invalid escape")
            }
        }
        guard String(validating: out, as: UTF8.self) != nil else { throw Failure(column: range.lowerBound, reason: "string is not valid UTF-8") }
        return out
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let n = word.utf8CodeUnitCount
        guard index + n <= bytes.count, memcmp(bytes.baseAddress! + index, word.utf8Start, n) == 0 else { throw failure("expected \(word)") }
        index += n
    }

    private mutating func literalBool() throws(Failure) -> Bool {
        if peek() == UInt8(ascii: "t") {
            try literal("true")
            return true
        }
        try literal("false")
        return false
    }

    /// A number: int64 when integral and in range, else a finite double. The bytes scanned are
    /// the same as `JSONLineParser`'s (digits, sign, point, exponent).
    private mutating func number() throws(Failure) -> Slot {
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") { negative = true; index += 1 }
        var integral = true
        var magnitude: UInt64 = 0
        var overflow = false
        var digits = 0
        while index < bytes.count {
            let b = bytes[index]
            if b >= 48 && b <= 57 {
                let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (m2, o2) = m1.addingReportingOverflow(UInt64(b - 48))
                magnitude = m2
                overflow = overflow || o1 || o2
                digits += 1
            } else if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") {
                integral = false
            } else {
                break
            }
            index += 1
        }
        if integral, digits > 0, !overflow {
            if !negative, magnitude <= UInt64(Int64.max) { return .int(Int64(magnitude)) }
            if negative, magnitude <= UInt64(Int64.max) + 1 { return .int(magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude)) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw Failure(column: start + 1, reason: "invalid number '\(text)'") }
        return .double(value)
    }

    /// Skips (and validates) one value.
    private mutating func skipValue(depth: Int) throws(Failure) {
        guard depth < 64 else { throw failure("nesting deeper than 64") }
        skipWhitespace()
        guard let b = peek() else { throw failure("unexpected end of the record") }
        switch b {
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
        case UInt8(ascii: "{"): try object(depth: depth + 1, matching: false)
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try literalBool()
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try number()
        default: throw failure("unexpected character")
        }
    }
}
