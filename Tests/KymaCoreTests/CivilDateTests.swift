// CivilDate against Foundation's Gregorian calendar in UTC (from 1700 on, where Foundation's
// calendar is Gregorian too), and days -> date -> days round trips over a far wider range.

import Foundation
import KymaCore
import Testing

@Suite("Civil dates")
struct CivilDateTests {
    @Test func agreesWithFoundationAndRoundTrips() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        // xorshift64 (KymaCoreTests has no dependencies but KymaCore).
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        let edges: [Int64] = [0, -1, 59, 60, 365, -365, 10_957, 11_016, 11_017, -25_567, 47_541]  // leap days, 1900, 2000, 2100
        for days in edges + (0..<3000).map({ _ in Int64(next() % 200_000) - 85_000 }) {
            let date = CivilDate.date(days: days)
            let parts = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(days) * 86_400))
            #expect([date.year, date.month, date.day] == [Int64(parts.year!), Int64(parts.month!), Int64(parts.day!)], "day \(days)")
            #expect(CivilDate.days(year: date.year, month: date.month, day: date.day) == days)
        }
        for _ in 0..<3000 {
            let days = Int64(bitPattern: next()) % 100_000_000  // a nanosecond timestamp's whole range of days, and more
            let date = CivilDate.date(days: days)
            #expect((1...12).contains(date.month) && (1...31).contains(date.day))
            #expect(CivilDate.days(year: date.year, month: date.month, day: date.day) == days)
        }
    }
}
