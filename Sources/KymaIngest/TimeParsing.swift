// Parsing the time field of ingested rows into nanoseconds since the Unix epoch.

import KymaCore

/// How the time field is written.
public enum TimeFormat: String, Sendable, CaseIterable {
    case rfc3339
    case epochSeconds = "epoch_s"
    case epochMillis = "epoch_ms"
    case epochMicros = "epoch_us"
    case epochNanos = "epoch_ns"

    /// Nanoseconds for `value`, or nil when it is not a time in this format.
    public func nanos(_ value: ScalarValue) -> Int64? {
        switch (self, value) {
        case (.rfc3339, .string(let text)): return RFC3339.parse(text)
        case (.epochSeconds, _), (.epochMillis, _), (.epochMicros, _), (.epochNanos, _):
            let scale: Double = switch self {
            case .epochSeconds: 1e9
            case .epochMillis: 1e6
            case .epochMicros: 1e3
            default: 1
            }
            switch value {
            case .int64(let v):
                let (product, overflow) = v.multipliedReportingOverflow(by: Int64(scale))
                return overflow ? nil : product
            case .float64(let v):
                let nanos = (v * scale).rounded()
                return nanos.isFinite && abs(nanos) < 9.2e18 ? Int64(nanos) : nil
            case .string(let text):
                if let v = Int64(text) { return nanos(.int64(v)) }
                return Self.exactDecimal(text, scale: Int64(scale)) ?? Double(text).flatMap { nanos(.float64($0)) }
            default: return nil
            }
        default: return nil
        }
    }
}

extension TimeFormat {
    /// `123.456789` x scale without going through a Double: the digits past the point are
    /// scaled exactly (extra digits beyond nanoseconds are cut). nil for exponents and the like.
    static func exactDecimal(_ text: String, scale: Int64) -> Int64? {
        let negative = text.hasPrefix("-")
        let body = negative ? text.dropFirst() : Substring(text)
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let whole = Int64(parts[0].isEmpty ? "0" : parts[0]), parts[1].allSatisfy(\.isNumber) else { return nil }
        var fraction: Int64 = 0
        var unit = scale / 10
        for digit in parts[1].utf8 where unit > 0 {
            fraction += Int64(digit - 48) * unit
            unit /= 10
        }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        return negative ? -(scaled + fraction) : scaled + fraction
    }
}

/// RFC 3339 timestamps: `2026-11-21T19:00:00Z`, `2026-11-21 19:00:00.123456789+02:00`
/// (KymaCore's `TimestampText` in its strict form).
public enum RFC3339 {
    public static func parse(_ text: String) -> Int64? {
        TimestampText.parse(text, form: .rfc3339)
    }

    /// The time written in `b` (UTF-8), nil when it is not an RFC 3339 timestamp or out of range.
    public static func parse(bytes b: UnsafeBufferPointer<UInt8>) -> Int64? {
        if case .nanos(let value) = TimestampText.read(bytes: b, form: .rfc3339) { return value }
        return nil
    }
}
