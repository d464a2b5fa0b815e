// The core vocabulary: schemas, time ranges, scalar JSON round trips.

import Testing
import Foundation
import KymaCore

@Suite("KymaCore")
struct KymaCoreTests {
    @Test func schemasRejectDuplicateAndEmptyNames() throws {
        #expect(throws: KymaCoreError.duplicateField("a")) { try Schema([Field(name: "a", type: .int64), Field(name: "a", type: .string)]) }
        #expect(throws: KymaCoreError.invalidFieldName("")) { try Schema([Field(name: "", type: .int64)]) }
        let schema = try Schema([Field(name: "_time", type: .timestamp), Field(name: "msg", type: .string)])
        #expect(schema.index(of: "msg") == 1)
        #expect(schema.field(named: "_time")?.type == .timestamp)
        #expect(Schema.empty.fields.isEmpty)
    }

    @Test func timeRangesOverlapAsClosedIntervals() {
        let a = TimeRange(lowerNanos: 10, upperNanos: 20)
        #expect(a.overlaps(TimeRange(lowerNanos: 20, upperNanos: 30)))
        #expect(!a.overlaps(TimeRange(lowerNanos: 21, upperNanos: 30)))
        #expect(a.overlaps(.all))
        #expect(!a.overlaps(TimeRange(lowerNanos: 5, upperNanos: 4)), "an empty range overlaps nothing")
        #expect(a.contains(10) && a.contains(20) && !a.contains(21))
    }

    @Test(arguments: [ScalarValue.null, .bool(true), .int64(Int64.max), .int64(Int64.min), .timestamp(1_700_000_000_123_456_789),
                      .float64(-2.5), .string("héllo \"x\""), .binary([0, 255, 7])])
    func scalarsRoundTripThroughJSONWithoutLosingPrecision(value: ScalarValue) throws {
        let data = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(ScalarValue.self, from: data) == value)
    }

    @Test func blockingIOReturnsAndThrows() async throws {
        #expect(try await BlockingIO.run { 6 * 7 } == 42)
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await BlockingIO.run { throw Boom() } }
    }

    @Test func jsonQuotingRoundTripsThroughFoundationsParser() throws {
        for text in ["plain", "quote \" and \\ backslash", "tab\tnew\nline\r", "\u{1}\u{1f}", "café 😀", ""] {
            let literal = JSONText.quote(text)
            let parsed = try JSONDecoder().decode([String].self, from: Data("[\(literal)]".utf8))
            #expect(parsed == [text], "\(literal)")
        }
        #expect(JSONText.quote("a\"b\n") == "\"a\\\"b\\n\"")
    }

    @Test func localFilesReadWhole() throws {
        let path = "/tmp/kyma-localfile-\(UInt32.random(in: 0...UInt32.max))"
        let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }  // past one read buffer
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(LocalFile.readAll(path) == bytes)
        #expect(LocalFile.readAll("/no/such/file") == nil)
    }
}

@Suite struct ColumnTypingTests {
    @Test func mixedTypesFollowOneRule() {
        #expect(ColumnTyping.merge(nil, .int64) == .int64)
        #expect(ColumnTyping.merge(.int64, .int64) == .int64)
        #expect(ColumnTyping.merge(.int64, .float64) == .float64)
        #expect(ColumnTyping.merge(.float64, .int64) == .float64)
        #expect(ColumnTyping.merge(.int64, .string) == .string)
        #expect(ColumnTyping.merge(.bool, .timestamp) == .string)
        #expect(ColumnTyping.commonType([.null, .int64(1), .float64(2)]) == .float64)
        #expect(ColumnTyping.commonType([ScalarValue.null, .null]) == nil)
        #expect(ColumnTyping.commonType([.int64(1), .bool(true), .float64(2)]) == .string)
    }
}
