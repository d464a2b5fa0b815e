// `datetime(...)` literals: ISO 8601 dates and times, UTC unless an offset is given.

import KymaCore

enum KQLDateTime {
    static func trimmed(_ text: String) -> String {
        String(text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    /// `2024-01-31`, `2024-01-31 12:00`, `2024-01-31T12:00:00.5Z`, `2024-01-31T12:00:00+02:00`.
    static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
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
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var seconds = CivilDate.days(year: year, month: month, day: day) * 86_400
        var fraction: Int64 = 0
        if i < b.count, b[i] == 0x54 || b[i] == 0x20 {
            i += 1
            guard let hour = number(2), expect(0x3A), let minute = number(2), hour < 24, minute < 60 else { return nil }
            seconds += hour * 3600 + minute * 60
            if expect(0x3A) {
                guard let second = number(2), second < 61 else { return nil }
                seconds += second
                if expect(0x2E) {
                    var digits = 0
                    while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
                        if digits < 9 { fraction = fraction * 10 + Int64(b[i] - 0x30) }
                        digits += 1
                        i += 1
                    }
                    guard digits > 0 else { return nil }
                    for _ in min(digits, 9)..<9 { fraction *= 10 }
                }
            }
            if expect(0x5A) {
            } else if i < b.count, b[i] == 0x2B || b[i] == 0x2D {
                let sign: Int64 = b[i] == 0x2B ? 1 : -1
                i += 1
                guard let oh = number(2), expect(0x3A), let om = number(2) else { return nil }
                seconds -= sign * (oh * 3600 + om * 60)
            }
        }
        guard i == b.count else { return nil }
        let (nanos, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        return nanos + fraction
    }

}
