// The record decoder against an independent path: the general JSON parser (`JSONLineParser`,
// which Kyma's ingest uses and the DuckDB suite checks) followed by a plain per-value coercion.
// Random records mix key orders, nesting, escapes, non-ASCII text, arrays, unknown keys,
// duplicate keys, wrong types and broken JSON; both paths must give the same rows and the same
// rejection reasons.

import Foundation
import KymaCore
import KymaIngest
@testable import KymaK2I
import KymaTestSupport
import Testing

enum Expected {
    case row([ScalarValue])
    case rejected(String)
}

@Suite("k2i record decoder")
struct RecordDecoderTests {
    static let fields: [(name: String, type: DataType)] = [
        ("id", .string), ("ts", .timestamp), ("n", .int64), ("x", .float64), ("ok", .bool), ("msg", .string), ("ctx.user", .string), ("ctx.depth.level", .int64),
    ]

    /// The oracle: flatten with the general parser, last duplicate wins, coerce value by value.
    static func expected(_ record: [UInt8], key: String) -> Expected {
        let flat: [(String, ScalarValue)]
        do throws(JSONParseError) { flat = try JSONLineParser.flatten(record[...]) } catch { return .rejected("invalid_json") }
        var byName: [String: ScalarValue] = [:]
        for (k, v) in flat { byName[k] = v }
        var row: [ScalarValue] = []
        for field in fields {
            let raw = byName[field.name] ?? .null
            let value: ScalarValue?
            switch (field.type, raw) {
            case (_, .null): value = .null
            case (.int64, .int64), (.float64, .float64), (.string, .string), (.bool, .bool): value = raw
            case (.float64, .int64(let v)): value = .float64(Double(v))
            case (.int64, .float64(let v)): value = v == v.rounded() && abs(v) < 9e18 ? .int64(Int64(v)) : nil
            case (.timestamp, .string(let text)): value = RFC3339.parse(text).map { .timestamp($0) }
            default: value = nil
            }
            guard let value else { return .rejected("wrong_type") }
            if field.name == key, value == .null { return .rejected("missing_key") }
            row.append(value)
        }
        return .row(row)
    }

    static func randomRecord(_ rng: inout SplitMix64) -> String {
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }
        let strings = ["a", "plain text", "with \\\"quotes\\\"", "tab\\there", "caf\u{e9} \u{1F600}", "\\u00e9\\ud83d\\ude00", "x" + String(repeating: "y", count: 40), "", "back\\\\slash"]
        var parts: [String] = []
        if !chance(5) { parts.append("\"id\": \(chance(5) ? "null" : chance(5) ? "17" : "\"\(pick(strings))\"")") }
        if chance(80) { parts.append("\"ts\": \(chance(10) ? pick(["\"yesterday\"", "12", "[1]"]) : "\"2026-11-\(10 + rng.next() % 10)T0\(rng.next() % 10):00:0\(rng.next() % 10)\(pick(["Z", ".5Z", "+02:00", ".123456789Z"]))\"")") }
        if chance(80) { parts.append("\"n\": \(pick(["1", "-7", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "2.0", "2.5", "1e3", "\"four\"", "true", "null"]))") }
        if chance(80) { parts.append("\"x\": \(pick(["1", "-0.25", "3.5e-2", "1E5", "12345678901234567890", "\"x\"", "null", "1.7976931348623157e308"]))") }
        if chance(60) { parts.append("\"ok\": \(pick(["true", "false", "null", "1"]))") }
        if chance(70) { parts.append("\"msg\": \(chance(15) ? pick(["[1, \"a\", {\"b\": null}]", "[]", "{\"deep\": 1}", "5", "[{\"\": 1}]"]) : "\"\(pick(strings))\"")") }
        if chance(50) { parts.append("\"ctx\": {\"user\": \"\(pick(strings))\", \"depth\": {\"level\": \(pick(["3", "\"3\"", "null"]))}, \"other\": [true]}") }
        if chance(30) { parts.append("\"unknown\(rng.next() % 3)\": \(pick(["{\"a\": [1, 2, {\"b\": \"c\"}]}", "{\"\": 2}", "\"\(pick(strings))\"", "-1.5e+3", "null"]))") }
        if chance(10) { parts.append("\"n\": \(pick(["5", "\"five\""]))") }  // a duplicate key: the last wins
        if chance(10), !parts.isEmpty { parts.swapAt(0, Int(rng.next() % UInt64(parts.count))) }
        var text = "{" + parts.joined(separator: pick([",", ", ", " ,\n "])) + "}"
        if chance(8) {
            // Break it.
            switch rng.next() % 6 {
            case 0: text.removeLast()
            case 1: text += "x"
            case 2: text = text.replacingOccurrences(of: ":", with: "", options: [], range: text.range(of: ":"))
            case 3: text = text.replacingOccurrences(of: "\"", with: "'")
            case 4: text = "[" + text + "]"
            default: text = text.replacingOccurrences(of: "1", with: "1..")
            }
        }
        return text
    }

    @Test func agreesWithTheGeneralParserOnRandomRecords() {
        var rng = SplitMix64(seed: 42)
        let decoder = RecordDecoder(fields: Self.fields, keyField: "id", timestampField: "ts", maxBytes: 10_000)
        var records: [[UInt8]] = (0..<3000).map { _ in Array(Self.randomRecord(&rng).utf8) }
        records.append([0x7B, 0x22, 0x69, 0x64, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D])  // {"id":"<invalid UTF-8>"}
        records.append(Array(#"{"id":"a","msg":"\ud800"}"#.utf8))  // a lone surrogate
        let decoded = decoder.decode(records)
        var row = 0
        var counts: [String: Int] = [:]
        for (k, record) in records.enumerated() {
            let want = Self.expected(record, key: "id")
            switch (want, decoded.rejections[k]) {
            case (.row(let values), nil):
                let got = decoded.columns.map { $0.value(at: row) }
                #expect(got == values, "record \(k): \(String(decoding: record, as: UTF8.self))")
                #expect(decoded.keyHashes[row] == KeyIndex.hash(values[0].stringValue ?? ""), "record \(k)'s key")
                row += 1
                counts["row", default: 0] += 1
            case (.rejected(let reason), .some(let rejection)):
                #expect(rejection.reason == reason, "record \(k): \(String(decoding: record, as: UTF8.self)): \(rejection)")
                counts[reason, default: 0] += 1
            default:
                Issue.record("record \(k): oracle \(want), decoder \(String(describing: decoded.rejections[k])): \(String(decoding: record, as: UTF8.self))")
            }
        }
        #expect(decoded.rowCount == row)
        // The sample exercised every outcome.
        #expect(counts["row", default: 0] > 500 && counts["invalid_json", default: 0] > 50 && counts["wrong_type", default: 0] > 200 && counts["missing_key", default: 0] > 20, "\(counts)")
    }

    @Test func discoveryReportsTheNewKeysOfValidRecordsWithTheirTypes() {
        var decoder = RecordDecoder(fields: [("id", .string)], keyField: "id", timestampField: nil, maxBytes: 10_000)
        let records = [
            #"{"id":"a","s":"x","i":3,"d":-1.5e3,"b":true,"z":null,"arr":[1,{"k":2}],"o":{"p":2,"q":{"r":"t"}}}"#,
            #"{"id":"b","i":2.5,"mixed":1}"#,
            #"{"id":"c","mixed":"x"}"#,
            #"{"id":"d","broken":1"#,  // invalid JSON: its keys do not count
            #"{"nokey":1}"#,  // rejected (no key): its keys do not count
        ].map { Array($0.utf8) }
        #expect(decoder.decode(records).newFields.isEmpty, "nothing is reported unless asked")
        decoder.discoversFields = true
        let decoded = decoder.decode(records)
        #expect(decoded.rowCount == 3 && decoded.rejections.compactMap { $0?.reason } == ["invalid_json", "missing_key"])
        #expect(decoded.newFields == ["s": .string, "i": .float64, "d": .float64, "b": .bool, "arr": .string, "o.p": .int64, "o.q.r": .string, "mixed": .string],
                "\(decoded.newFields)")
        // The known field still decodes as before.
        #expect((0..<3).map { decoded.columns[0].value(at: $0) } == [.string("a"), .string("b"), .string("c")])
    }

    @Test func recordsInAnotherKeyOrderOrWithUnicodeKeysStillMatch() {
        let decoder = RecordDecoder(fields: [("b", .int64), ("a", .string), ("caf\u{e9}", .bool), ("tab\tkey", .int64)], keyField: nil, timestampField: nil, maxBytes: 1000)
        let decoded = decoder.decode([
            Array(#"{"a":"1","b":2,"café":true,"tab\tkey":4}"#.utf8),
            Array(#"{"caf\u00e9":false,"b":3}"#.utf8),
        ])
        #expect(decoded.rejections == [nil, nil])
        #expect((0..<4).map { decoded.columns[$0].value(at: 0) } == [.int64(2), .string("1"), .bool(true), .int64(4)])
        #expect((0..<4).map { decoded.columns[$0].value(at: 1) } == [.int64(3), .null, .bool(false), .null])
    }
}

@Suite("k2i schema inference")
struct SchemaInferenceTests {
    @Test func mostSamplesDecideAColumnsType() {
        var samples: [[UInt8]] = (0..<9).map { Array(#"{"n":\#($0),"x":\#($0),"flag":true,"ts":"2026-01-01T00:00:00Z","gone":null,"tag":"a"}"#.utf8) }
        samples.append(Array(#"{"n":"nine","x":2.5,"flag":"yes","tag":false,"extra":{"deep":1}}"#.utf8))  // one odd record
        samples.append(Array("{broken".utf8))
        let schema = RecordDecoder.infer(samples, timestampField: "ts")
        #expect(schema.map(\.name) == ["n", "x", "flag", "ts", "gone", "tag", "extra.deep"])
        #expect(schema.map(\.type) == [.int64, .float64, .bool, .timestamp, .string, .string, .int64])
        // The odd record is then rejected, not the column retyped.
        let decoder = RecordDecoder(fields: schema, keyField: nil, timestampField: "ts", maxBytes: 1000)
        #expect(decoder.decode(samples[9]).rejection?.reason == "wrong_type")
        #expect(decoder.decode(samples[0]).rejection == nil)
        // A tie between kinds is a string column.
        let tied = RecordDecoder.infer([Array(#"{"a":1}"#.utf8), Array(#"{"a":"one"}"#.utf8)], timestampField: nil)
        #expect(tied.map(\.type) == [.string])
    }
}

extension ScalarValue {
    fileprivate var stringValue: String? {
        switch self {
        case .string(let s): s
        default: nil
        }
    }
}
