// The row-at-a-time meaning of operators and functions over `ScalarValue`: the general path of
// the evaluator and the reference its typed loops must agree with.

import KymaCore
import KymaPlan
import KymaFormat

enum ScalarCompare {
    /// Order of two non-null values. Numbers compare across int/float; a string compared with a
    /// number is read as a number (columns typed differently in different extents still compare);
    /// nil when the values cannot be compared.
    static func order(_ a: ScalarValue, _ b: ScalarValue) -> Int? {
        if let order = ScalarOrder.compare(a, b) { return order }
        switch (a, b) {
        case (.string(let s), .int64), (.string(let s), .float64):
            guard let x = Double(s) else { return nil }
            return ScalarOrder.compare(.float64(x), b)
        case (.int64, .string(let s)), (.float64, .string(let s)):
            guard let y = Double(s) else { return nil }
            return ScalarOrder.compare(a, .float64(y))
        default: return nil
        }
    }
}

enum ScalarArithmetic {
    static func apply(_ op: ArithmeticOperator, _ a: ScalarValue, _ b: ScalarValue) throws(QueryError) -> ScalarValue {
        switch (a, b) {
        case (.null, _), (_, .null): return .null
        case (.int64(let x), .int64(let y)):
            switch op {
            case .add: return .int64(x &+ y)
            case .subtract: return .int64(x &- y)
            case .multiply: return .int64(x &* y)
            case .divide: return y == 0 ? .null : .int64(x / y)
            case .modulo: return y == 0 ? .null : .int64(x % y)
            }
        case (.timestamp(let x), .int64(let y)):
            switch op {
            case .add: return .timestamp(x &+ y)
            case .subtract: return .timestamp(x &- y)
            default: throw .type("cannot apply \(op.rawValue) to a datetime")
            }
        case (.int64(let x), .timestamp(let y)) where op == .add:
            return .timestamp(x &+ y)
        case (.timestamp(let x), .timestamp(let y)) where op == .subtract:
            return .int64(x &- y)
        default:
            guard let x = number(a), let y = number(b) else {
                throw .type("cannot apply \(op.rawValue) to \(a) and \(b)")
            }
            switch op {
            case .add: return .float64(x + y)
            case .subtract: return .float64(x - y)
            case .multiply: return .float64(x * y)
            case .divide: return .float64(x / y)
            case .modulo: return .float64(x.truncatingRemainder(dividingBy: y))
            }
        }
    }

    static func number(_ value: ScalarValue) -> Double? {
        switch value {
        case .int64(let v): Double(v)
        case .float64(let v): v
        default: nil
        }
    }

    /// Kusto `bin`: rounds down to a multiple of `size` (toward negative infinity).
    static func bin(_ value: ScalarValue, _ size: ScalarValue) throws(QueryError) -> ScalarValue {
        switch (value, size) {
        case (.null, _), (_, .null): return .null
        case (.timestamp(let t), .int64(let s)), (.int64(let t), .int64(let s)):
            guard s > 0 else { throw .type("bin() size must be positive") }
            let floored = (t >= 0 ? t / s : (t + 1) / s - 1) * s
            if case .timestamp = value { return .timestamp(floored) }
            return .int64(floored)
        default:
            guard let x = number(value), let s = number(size), s > 0 else { throw .type("bin() needs a number or datetime and a positive size, got \(value), \(size)") }
            return .float64((x / s).rounded(.down) * s)
        }
    }
}

enum ScalarText {
    /// Kusto `tostring`: null is the empty string.
    static func toString(_ value: ScalarValue, timespan: Bool) -> ScalarValue {
        switch value {
        case .null: return .string("")
        case .string: return value
        case .bool(let b): return .string(b ? "true" : "false")
        case .int64(let v): return .string(timespan ? TimeText.timespan(v) : String(v))
        case .float64(let v): return .string(NumberText.real(v))
        case .timestamp(let v): return .string(TimeText.rfc3339(v))
        case .binary(let v): return .string(String(decoding: v, as: UTF8.self))
        }
    }

    static func toInt(_ value: ScalarValue) -> ScalarValue {
        switch value {
        case .int64: return value
        case .float64(let v): return v.isFinite && abs(v) < 9.2e18 ? .int64(Int64(v.rounded(.towardZero))) : .null
        case .bool(let b): return .int64(b ? 1 : 0)
        case .timestamp(let v): return .int64(v)
        case .string(let s):
            let t = s.trimmingSpaces
            if let v = Int64(t) { return .int64(v) }
            if let d = Double(t), d.isFinite, abs(d) < 9.2e18 { return .int64(Int64(d.rounded(.towardZero))) }
            return .null
        default: return .null
        }
    }

    static func toDouble(_ value: ScalarValue) -> ScalarValue {
        switch value {
        case .int64(let v): return .float64(Double(v))
        case .float64: return value
        case .bool(let b): return .float64(b ? 1 : 0)
        case .timestamp(let v): return .float64(Double(v))
        case .string(let s): return Double(s.trimmingSpaces).map { .float64($0) } ?? .null
        default: return .null
        }
    }
}

extension String {
    var trimmingSpaces: String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

/// Text forms of numbers and times shared by functions and result rendering.
public enum NumberText {
    /// Shortest round-trip form; integral values keep no fraction (`5`, `2.5`, `1e+20`).
    public static func real(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

public enum TimeText {
    /// Nanoseconds since the epoch as `2026-11-21T19:00:00.123456789Z` (fraction trimmed), or
    /// with exactly `fractionDigits` digits of the fraction (truncated), e.g. 3 for log lines.
    public static func rfc3339(_ nanos: Int64, fractionDigits: Int? = nil) -> String {
        let seconds = nanos >= 0 ? nanos / 1_000_000_000 : (nanos + 1) / 1_000_000_000 - 1
        let fraction = nanos - seconds * 1_000_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds + 1) / 86_400 - 1
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = CivilDate.date(days: days)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var text = "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))"
        var digits = String(fraction)
        digits = String(repeating: "0", count: 9 - digits.count) + digits
        if let fractionDigits {
            if fractionDigits > 0 { text += "." + digits.prefix(min(9, fractionDigits)) }
        } else if fraction != 0 {
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text + "Z"
    }

    /// Kusto's timespan text: `[-][d.]hh:mm:ss[.fffffff]`.
    public static func timespan(_ nanos: Int64) -> String {
        let negative = nanos < 0
        let magnitude = nanos.magnitude
        let ticks = magnitude / 100
        let totalSeconds = ticks / 10_000_000
        let fraction = ticks % 10_000_000
        let days = totalSeconds / 86_400
        func two(_ v: UInt64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var text = negative ? "-" : ""
        if days > 0 { text += "\(days)." }
        text += "\(two(totalSeconds / 3600 % 24)):\(two(totalSeconds / 60 % 60)):\(two(totalSeconds % 60))"
        if fraction > 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: 7 - digits.count) + digits
        }
        return text
    }
}

/// Columns built from scalars (the general path and results).
enum ColumnFactory {
    /// The column of `values`: typed by the first non-null value; int64 mixed with float64 is
    /// float64; any other mix is string.
    static func column(_ values: [ScalarValue]) -> Column {
        let type = ColumnTyping.commonType(values)
        var builder = ColumnBuilder(type ?? .string)
        for value in values { try? builder.append(coerce(value, to: type ?? .string)) }  // coerce makes the types agree
        return builder.finish()
    }

    static func coerce(_ value: ScalarValue, to type: DataType) -> ScalarValue {
        if value == .null || value.dataType == type { return value }
        switch (value, type) {
        case (.int64(let v), .float64): return .float64(Double(v))
        case (_, .string): return ScalarText.toString(value, timespan: false)
        default: return .null
        }
    }

    static func repeating(_ value: ScalarValue, count: Int) -> Column {
        column([ScalarValue](repeating: value, count: count))
    }
}

extension Column {
    /// The rows `rows` of this column, in that order.
    func gathered(_ rows: [UInt32]) -> Column {
        var validity: ValidityBitmap? = nil
        if let source = self.validity {
            var bitmap = ValidityBitmap(allValid: rows.count)
            for (i, row) in rows.enumerated() where !source.isValid(Int(row)) { bitmap.set(i, valid: false) }
            validity = bitmap
        }
        switch values {
        case .bool(let v): return Column(.bool(rows.map { v[Int($0)] }), validity: validity)
        case .int64(let v): return Column(.int64(rows.map { v[Int($0)] }), validity: validity)
        case .timestamp(let v): return Column(.timestamp(rows.map { v[Int($0)] }), validity: validity)
        case .float64(let v): return Column(.float64(rows.map { v[Int($0)] }), validity: validity)
        case .string(let offsets, let bytes), .binary(let offsets, let bytes):
            var newOffsets: [Int32] = [0]
            newOffsets.reserveCapacity(rows.count + 1)
            var newBytes: [UInt8] = []
            for row in rows {
                newBytes.append(contentsOf: bytes[Int(offsets[Int(row)])..<Int(offsets[Int(row) + 1])])
                newOffsets.append(Int32(newBytes.count))
            }
            if case .string = values { return Column(.string(offsets: newOffsets, bytes: newBytes), validity: validity) }
            return Column(.binary(offsets: newOffsets, bytes: newBytes), validity: validity)
        case .float32Vector(let dimension, let v):
            var out: [Float] = []
            out.reserveCapacity(rows.count * dimension)
            for row in rows { out.append(contentsOf: v[Int(row) * dimension..<(Int(row) + 1) * dimension]) }
            return Column(.float32Vector(dimension: dimension, values: out), validity: validity)
        }
    }
}
