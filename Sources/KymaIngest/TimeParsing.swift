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

/// RFC 3339 timestamps: `2026-11-21T19:00:00Z`, `2026-11-21 19:00:00.123456789+02:00`.
public enum RFC3339 {
    public static func parse(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parse(bytes: $0) }
    }

    /// The time written in `b` (UTF-8), nil when it is not an RFC 3339 timestamp.
    public static func parse(bytes b: UnsafeBufferPointer<UInt8>) -> Int64? {
        func digits(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var v: Int64 = 0
            for byte in UnsafeBufferPointer(rebasing: b[from..<from + count]) {
                guard byte >= 48 && byte <= 57 else { return nil }
                v = v * 10 + Int64(byte - 48)
            }
            return v
        }
        guard b.count >= 20, let year = digits(0, 4), b[4] == UInt8(ascii: "-"), let month = digits(5, 2), b[7] == UInt8(ascii: "-"),
              let day = digits(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
              let hour = digits(11, 2), b[13] == UInt8(ascii: ":"), let minute = digits(14, 2), b[16] == UInt8(ascii: ":"),
              let second = digits(17, 2), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var i = 19
        var fraction: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100_000_000
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if scale > 0 { fraction += Int64(b[i] - 48) * scale; scale /= 10 }
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offsetSeconds: Int64 = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard let oh = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == UInt8(ascii: ":"), let om = digits(i + 4, 2) else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = CivilDate.days(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        let (nanos, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? nil : nanos + fraction
    }
}
