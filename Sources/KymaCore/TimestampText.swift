// Reading timestamps from text: the one parser behind ingest's RFC 3339 field parsing, KQL's
// `datetime(...)` and SQL's `TIMESTAMP '...'` literals and casts. A time that is well formed
// but outside what 64-bit nanoseconds hold (before 1677-09-21 or after 2262-04-11) is reported
// as out of range, not as malformed.

public enum TimestampText {
    public enum Parsed: Sendable, Hashable {
        case nanos(Int64)
        /// Well formed, but outside the range of nanoseconds since the epoch in an Int64.
        case outOfRange
        case malformed
    }

    /// How much of a timestamp the text must give.
    public enum Form: Sendable {
        /// RFC 3339: `2026-11-21T19:00:00[.fraction](Z|±hh:mm)`, `T`, `t` or a space between.
        case rfc3339
        /// ISO 8601 as query literals take it: `2024-01-31`, `2024-01-31 12:00`,
        /// `2024-01-31T12:00:00.5`, with an optional `Z` or `±hh:mm` (UTC when absent).
        case literal
    }

    /// The nanoseconds `text` names in `form`, or nil when it is malformed or out of range.
    public static func parse(_ text: String, form: Form = .literal) -> Int64? {
        if case .nanos(let value) = read(text, form: form) { return value }
        return nil
    }

    public static func read(_ text: String, form: Form) -> Parsed {
        var text = text
        return text.withUTF8 { read(bytes: $0, form: form) }
    }

    public static func read(bytes b: UnsafeBufferPointer<UInt8>, form: Form) -> Parsed {
        var i = 0
        func number(_ digits: Int) -> Int64? {
            guard i + digits <= b.count else { return nil }
            var value: Int64 = 0
            for k in i..<i + digits {
                guard b[k] >= 0x30 && b[k] <= 0x39 else { return nil }
                value = value * 10 + Int64(b[k] - 0x30)
            }
            i += digits
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(0x2D), let month = number(2), expect(0x2D), let day = number(2),
              (1...12).contains(month), (1...CivilDate.daysInMonth(year: year, month: month)).contains(day) else { return .malformed }
        var seconds = CivilDate.days(year: year, month: month, day: day) * 86_400
        var fraction: Int64 = 0
        var sawTime = false, sawSeconds = false, sawZone = false
        if i < b.count, b[i] == 0x54 || b[i] == 0x74 || b[i] == 0x20 {
            i += 1
            sawTime = true
            guard let hour = number(2), expect(0x3A), let minute = number(2), hour < 24, minute < 60 else { return .malformed }
            seconds += hour * 3600 + minute * 60
            if expect(0x3A) {
                sawSeconds = true
                guard let second = number(2), second < 61 else { return .malformed }
                seconds += second
                if expect(0x2E) {
                    var digits = 0
                    while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
                        if digits < 9 { fraction = fraction * 10 + Int64(b[i] - 0x30) }
                        digits += 1
                        i += 1
                    }
                    guard digits > 0 else { return .malformed }
                    for _ in min(digits, 9)..<9 { fraction *= 10 }
                }
            }
            if expect(0x5A) || expect(0x7A) {
                sawZone = true
            } else if i < b.count, b[i] == 0x2B || b[i] == 0x2D {
                let sign: Int64 = b[i] == 0x2B ? 1 : -1
                i += 1
                guard let oh = number(2), expect(0x3A), let om = number(2), oh < 24, om < 60 else { return .malformed }
                seconds -= sign * (oh * 3600 + om * 60)
                sawZone = true
            }
        }
        guard i == b.count else { return .malformed }
        if case .rfc3339 = form, !(sawTime && sawSeconds && sawZone) { return .malformed }
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .outOfRange }
        let (nanos, overflowFraction) = scaled.addingReportingOverflow(fraction)
        return overflowFraction ? .outOfRange : .nanos(nanos)
    }

    /// DuckDB's text of a TIMESTAMP: `2024-01-02 03:04:05` with the fraction's trailing zeros cut
    /// (`2024-01-02 03:04:05.5`).
    public static func sql(_ nanos: Int64) -> String {
        let text = TimeText.rfc3339(nanos)  // 2024-01-02T03:04:05.5Z
        var out = text.dropLast()  // no Z
        if let t = out.firstIndex(of: "T") { out.replaceSubrange(t...t, with: " ") }
        return String(out)
    }
}
