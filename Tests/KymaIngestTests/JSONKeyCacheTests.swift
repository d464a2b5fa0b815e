// The key cache of the JSON lines parser, by property: parsing a file's lines with one cache
// carried from line to line gives exactly what parsing each line alone gives — keys that repeat,
// change places, change length, nest, carry escapes or non-ASCII, and numbers at every width
// (the integer fast path against the text path: 18 digits and beyond, signs, exponents).

import KymaCore
import KymaIngest
import KymaTestSupport
import Testing

@Suite struct JSONKeyCacheTests {
    static let keys = ["a", "ab", "b", "level", "lev\\u0065l", "caf\u{e9}", "x\\\"y", "msg", "n"]

    static func line(_ g: inout SplitMix64) -> String {
        var parts: [String] = []
        var used = Set<String>()
        for _ in 0..<Int(g.next() % 6) {
            let key = keys[Int(g.next() % UInt64(keys.count))]
            // Two spellings of one key ("level", "lev\u0065l") would be a duplicate: one of them.
            let plain = key.replacingOccurrences(of: "\\u0065", with: "e")
            guard used.insert(plain).inserted else { continue }
            let value: String
            switch g.next() % 6 {
            case 0: value = String(Int64(bitPattern: g.next()) >> Int64(g.next() % 64))
            case 1: value = "-" + String(g.next() % 1_000_000_000_000_000_000)
            case 2: value = "\"v\(g.next() % 5)\""
            case 3: value = "{\"\(keys[Int(g.next() % 3)])\":\(g.next() % 100)}"
            case 4: value = "\(g.next() % 1000).5e\(g.next() % 3)"
            default: value = "99999999999999999999"
            }
            parts.append("\"\(key)\":\(value)")
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    @Test func aCarriedCacheParsesAsFreshParsesDo() throws {
        var g = SplitMix64(seed: 77)
        var cache = JSONKeyCache()
        for _ in 0..<3000 {
            let bytes = Array(Self.line(&g).utf8)
            let alone = Result { try JSONLineParser.flatten(bytes[...]) }
            let cached = Result { try JSONLineParser.flatten(bytes[...], keys: &cache) }
            switch (alone, cached) {
            case (.success(let a), .success(let b)):
                #expect(a.map(\.0) == b.map(\.0), "\(String(decoding: bytes, as: UTF8.self))")
                #expect(a.map(\.1) == b.map(\.1), "\(String(decoding: bytes, as: UTF8.self))")
            case (.failure(let a), .failure(let b)):
                #expect("\(a)" == "\(b)")
            default:
                Issue.record("one failed, one did not: \(String(decoding: bytes, as: UTF8.self))")
            }
        }
    }

    @Test func integersAtTheEdgesOfTheFastPath() throws {
        let cases: [(String, ScalarValue)] = [
            ("999999999999999999", .int64(999_999_999_999_999_999)), ("-999999999999999999", .int64(-999_999_999_999_999_999)),
            ("9223372036854775807", .int64(.max)), ("-9223372036854775808", .int64(.min)),
            ("9223372036854775808", .float64(9_223_372_036_854_775_808)), ("-0", .int64(0)), ("7", .int64(7)),
        ]
        for (text, expected) in cases {
            let fields = try JSONLineParser.flatten(Array("{\"n\":\(text)}".utf8)[...])
            #expect(fields.first?.1 == expected, "\(text)")
        }
    }
}
