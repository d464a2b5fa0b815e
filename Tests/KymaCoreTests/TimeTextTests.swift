import Foundation
import KymaCore
import KymaTestSupport
import Testing

/// `TimeText.rfc3339` against Foundation's ISO 8601 formatter, which nobody here wrote.
@Suite struct TimeTextTests {
    @Test func millisecondTextMatchesFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var rng = SplitMix64(seed: 42)
        // Whole milliseconds from 1901 to 2100, both sides of the epoch, and the edges.
        var samples: [Int64] = [0, -1, 1, 999, -999, 1_000, 951_782_400_000, 4_102_444_799_999]
        for _ in 0..<2_000 { samples.append(Int64(rng.next() % 6_311_390_400_000) - 2_177_452_800_000) }
        for millis in samples {
            let expected = formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
            #expect(TimeText.rfc3339(millis * 1_000_000, fractionDigits: 3) == expected, "\(millis) ms")
        }
    }

    @Test func fractionDigitsTruncateOrPad() {
        let nanos: Int64 = 1_700_000_000_123_456_789
        #expect(TimeText.rfc3339(nanos) == "2023-11-14T22:13:20.123456789Z")
        #expect(TimeText.rfc3339(nanos, fractionDigits: 3) == "2023-11-14T22:13:20.123Z")
        #expect(TimeText.rfc3339(1_700_000_000_000_000_000, fractionDigits: 3) == "2023-11-14T22:13:20.000Z")
        #expect(TimeText.rfc3339(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z")
        #expect(TimeText.rfc3339(nanos, fractionDigits: 0) == "2023-11-14T22:13:20Z")
    }
}
