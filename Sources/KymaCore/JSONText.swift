// JSON text, written the one way every Kyma module writes it: string literals, and whole values
// (Foundation property-list values as JSONSerialization reads them, or Swift's own) with object
// keys sorted. Foundation's JSONSerialization boxes every key in AnyHashable to sort it; at k2i's
// commit rate it was a tenth of the process's CPU (table metadata, offsets, status).

import Foundation

public enum JSONText {
    /// `text` as a JSON string literal, quotes included: `"`, `\` and control characters escaped.
    public static func quote(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 2)
        appendQuoted(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `text` as a JSON string literal.
    public static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(byte)
            case UInt8(ascii: "\n"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0..<0x20: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `value` as JSON with object keys sorted (by their UTF-8 bytes): strings, numbers and
    /// booleans (Swift's or NSNumber), NSNull, `[String: Any]` and `[Any]`.
    /// Throws `.notJSON` naming what JSON cannot hold (a non-finite number, another type).
    public static func encode(_ value: Any) throws(KymaCoreError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        try append(value, to: &out)
        return out
    }

    /// `encode` as a String.
    public static func string(_ value: Any) throws(KymaCoreError) -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }

    public static func append(_ value: Any, to out: inout [UInt8]) throws(KymaCoreError) {
        // Exact Swift types first, then containers, then Foundation's classes: asking a Swift
        // container whether it is an NSNumber bridges the whole container to find out.
        let kind = type(of: value)
        if kind == String.self { return appendQuoted(value as! String, to: &out) }
        if kind == Int.self { return out.append(contentsOf: String(value as! Int).utf8) }
        if kind == Int64.self { return out.append(contentsOf: String(value as! Int64).utf8) }
        if kind == Int32.self { return out.append(contentsOf: String(value as! Int32).utf8) }
        if kind == Bool.self { return out.append(contentsOf: (value as! Bool ? "true" : "false").utf8) }
        if kind == Double.self { return try appendDouble(value as! Double, to: &out) }
        // Other Swift integers by value: bridged to NSNumber, an Int8 would look like a boolean.
        if kind == Int8.self || kind == Int16.self || kind == UInt8.self || kind == UInt16.self || kind == UInt32.self || kind == UInt.self || kind == UInt64.self {
            return out.append(contentsOf: "\(value)".utf8)
        }
        switch value {
        case let object as [String: Any]:
            out.append(UInt8(ascii: "{"))
            for (i, key) in object.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendQuoted(key, to: &out)
                out.append(UInt8(ascii: ":"))
                try append(object[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case let array as [Any]:
            out.append(UInt8(ascii: "["))
            for (i, element) in array.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try append(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let text as String:
            appendQuoted(text, to: &out)
        case let number as NSNumber:
            // "c" is how a parsed JSON boolean comes (Swift integers were written above).
            switch UInt8(bitPattern: number.objCType.pointee) {
            case UInt8(ascii: "c"): out.append(contentsOf: (number.boolValue ? "true" : "false").utf8)
            case UInt8(ascii: "d"), UInt8(ascii: "f"): try appendDouble(number.doubleValue, to: &out)
            case UInt8(ascii: "Q"), UInt8(ascii: "L"): out.append(contentsOf: String(number.uint64Value).utf8)
            default: out.append(contentsOf: String(number.int64Value).utf8)
            }
        case is NSNull:
            out.append(contentsOf: "null".utf8)
        default:
            throw .notJSON("a value of type \(type(of: value))")
        }
    }

    static func appendDouble(_ double: Double, to out: inout [UInt8]) throws(KymaCoreError) {
        guard double.isFinite else { throw .notJSON("the number \(double)") }
        out.append(contentsOf: "\(double)".utf8)  // Swift's shortest round-trip form is valid JSON
    }
}

extension JSONText {
    /// The elements of a JSON array of scalars (as `make_set` and `list` write them): numbers as
    /// int64 when integral and written without a fraction, else float64; strings; booleans; null.
    /// nil when the text is not such an array.
    public static func scalarArray(_ text: String) -> [ScalarValue]? {
        guard let data = text.data(using: .utf8),
              let array = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) as? [Any] else { return nil }
        var out: [ScalarValue] = []
        out.reserveCapacity(array.count)
        for element in array {
            switch element {
            case is NSNull: out.append(.null)
            case let text as String: out.append(.string(text))
            case let number as NSNumber:
                switch UInt8(bitPattern: number.objCType.pointee) {
                case UInt8(ascii: "c"): out.append(.bool(number.boolValue))
                case UInt8(ascii: "d"), UInt8(ascii: "f"): out.append(.float64(number.doubleValue))
                default: out.append(.int64(number.int64Value))
                }
            default: return nil
            }
        }
        return out
    }
}
