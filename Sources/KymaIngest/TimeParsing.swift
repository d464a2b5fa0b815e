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
        if case .nanos(let nanos) = read(value) { return nanos }
        return nil
    }

    /// The time `value` names in this format: nanoseconds, well formed but outside what an
    /// Int64 of nanoseconds holds (years before 1677 or after 2262), or not a time at all.
    public func read(_ value: ScalarValue) -> TimestampText.Parsed {
        switch (self, value) {
        case (.rfc3339, .string(let text)): return TimestampText.read(text, form: .rfc3339)
        case (.rfc3339, _): return .malformed
        case (.epochSeconds, _), (.epochMillis, _), (.epochMicros, _), (.epochNanos, _):
            let scale: Int64 = switch self {
            case .epochSeconds: 1_000_000_000
            case .epochMillis: 1_000_000
            case .epochMicros: 1_000
            default: 1
            }
            switch value {
            case .int64(let v):
                let (product, overflow) = v.multipliedReportingOverflow(by: scale)
                return overflow ? .outOfRange : .nanos(product)
            case .float64(let v):
                guard v.isFinite else { return .malformed }
                let nanos = (v * Double(scale)).rounded()
                return abs(nanos) < 9.2e18 ? .nanos(Int64(nanos)) : .outOfRange
            case .string(let text):
                if let v = Int64(text) { return read(.int64(v)) }
                if let exact = Self.exactDecimal(text, scale: scale) { return .nanos(exact) }
                guard let v = Double(text) else { return .malformed }
                return read(.float64(v))
            default: return .malformed
            }
        }
    }
}

extension TimeFormat {
    /// `123.456789` x scale without going through a Double: the digits past the point are
    /// scaled exactly (extra digits beyond nanoseconds are cut). nil for exponents and the like.
    static func exactDecimal(_ text: String, scale: Int64) -> Int64? {
        let negative = text.hasPrefix("-")
        let body = Array((negative ? text.dropFirst() : Substring(text)).utf8)
        guard let point = body.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        let wholeDigits = body[..<point], fractionDigits = body[(point + 1)...]
        let isDigit: (UInt8) -> Bool = { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard wholeDigits.allSatisfy(isDigit), fractionDigits.allSatisfy(isDigit), !(wholeDigits.isEmpty && fractionDigits.isEmpty) else { return nil }
        var whole: Int64 = 0
        for digit in wholeDigits {
            let (times10, o1) = whole.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(Int64(digit - 48))
            guard !o1, !o2 else { return nil }
            whole = next
        }
        var fraction: Int64 = 0
        var unit = scale / 10
        for digit in fractionDigits where unit > 0 {
            fraction += Int64(digit - 48) * unit
            unit /= 10
        }
        let (scaled, o1) = whole.multipliedReportingOverflow(by: scale)
        let (total, o2) = scaled.addingReportingOverflow(fraction)
        guard !o1, !o2 else { return nil }
        return negative ? -total : total
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
