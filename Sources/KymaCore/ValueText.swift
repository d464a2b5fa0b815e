// Text forms of scalar values, written one way everywhere: numbers (shortest round trip), times
// (RFC 3339 UTC, Kusto timespans) and JSON values. Results, logs, make_set and SQL casts use them.

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

/// JSON text of a scalar (timestamps as RFC 3339 strings).
public enum JSONValue {
    public static func render(_ value: ScalarValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let v): v ? "true" : "false"
        case .int64(let v): String(v)
        case .float64(let v): v.isFinite ? NumberText.real(v) : "null"
        case .timestamp(let v): JSONText.quote(TimeText.rfc3339(v))
        case .string(let v): JSONText.quote(v)
        case .binary(let v): JSONText.quote(v.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
        }
    }
}

