// OTLP log requests to rows, against requests encoded here by hand from the protobuf wire rules
// (not by the generated code under test) and OTLP/JSON written as the specification shows it.

import Foundation
import KymaCore
import KymaOTLP
import Testing

/// The protobuf wire format, written out: varints, fixed64/32 and length-delimited fields.
struct Wire {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func tag(_ field: Int, _ wireType: Int) { varint(UInt64(field << 3 | wireType)) }
    mutating func int(_ field: Int, _ value: Int64) { tag(field, 0); varint(UInt64(bitPattern: value)) }
    mutating func fixed64(_ field: Int, _ value: UInt64) {
        tag(field, 1)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }
    mutating func double(_ field: Int, _ value: Double) { fixed64(field, value.bitPattern) }
    mutating func message(_ field: Int, _ inner: Wire) { tag(field, 2); varint(UInt64(inner.bytes.count)); bytes += inner.bytes }
    mutating func bytes(_ field: Int, _ value: [UInt8]) { tag(field, 2); varint(UInt64(value.count)); bytes += value }
    mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    static func keyValue(_ key: String, _ value: Wire) -> Wire {
        var kv = Wire()
        kv.string(1, key)
        kv.message(2, value)
        return kv
    }

    static func stringValue(_ text: String) -> Wire { var v = Wire(); v.string(1, text); return v }
    static func intValue(_ n: Int64) -> Wire { var v = Wire(); v.int(3, n); return v }
}

@Suite("OTLP logs")
struct OTLPLogsTests {
    /// One resource (service.name), one scope, two records: the first with every field, the
    /// second with only an observed time and an array body.
    static func request() -> [UInt8] {
        var resource = Wire()
        resource.message(1, .keyValue("service.name", .stringValue("cart")))
        var scope = Wire()
        scope.string(1, "io.kyma.test")
        var first = Wire()
        first.fixed64(1, 1_700_000_000_123_456_789)
        first.int(2, 9)
        first.string(3, "INFO")
        first.message(5, .stringValue("added item"))
        first.message(6, .keyValue("item", .intValue(42)))
        var nested = Wire()
        var list = Wire()
        list.message(1, .keyValue("inner", .stringValue("x")))
        nested.message(6, list)
        first.message(6, .keyValue("ctx", nested))
        first.bytes(9, Array(0..<16))
        first.bytes(10, [0xAB, 0xCD, 0xEF, 0x01, 0x23, 0x45, 0x67, 0x89])
        var second = Wire()
        second.fixed64(11, 1_700_000_001_000_000_000)
        var array = Wire()
        array.message(1, .intValue(1))
        var d = Wire()
        d.double(4, 2.5)
        array.message(1, d)
        var body = Wire()
        body.message(5, array)
        second.message(5, body)
        var scopeLogs = Wire()
        scopeLogs.message(1, scope)
        scopeLogs.message(2, first)
        scopeLogs.message(2, second)
        var resourceLogs = Wire()
        resourceLogs.message(1, resource)
        resourceLogs.message(2, scopeLogs)
        var request = Wire()
        request.message(1, resourceLogs)
        return request.bytes
    }

    static func objects(_ rows: OTLPLogRows) -> [[String: Any]] {
        String(decoding: rows.lines, as: UTF8.self).split(separator: "\n").map {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? [:]
        }
    }

    @Test func protobufRecordsBecomeRowsWithTheirResourceAndScope() throws {
        let rows = try OTLPLogs.rows(protobuf: Self.request(), receivedNanos: 7)
        #expect(rows.records == 2)
        let objects = Self.objects(rows)
        #expect(objects.count == 2)
        let first = objects[0]
        #expect((first["timestamp"] as? NSNumber)?.int64Value == 1_700_000_000_123_456_789)
        #expect(first["severity_number"] as? Int == 9 && first["severity_text"] as? String == "INFO")
        #expect(first["body"] as? String == "added item")
        #expect((first["attributes"] as? [String: Any])?["item"] as? Int == 42)
        #expect(((first["attributes"] as? [String: Any])?["ctx"] as? [String: Any])?["inner"] as? String == "x")
        #expect(first["trace_id"] as? String == "000102030405060708090a0b0c0d0e0f")
        #expect(first["span_id"] as? String == "abcdef0123456789")
        #expect((first["resource"] as? [String: Any])?["service.name"] as? String == "cart")
        #expect((first["scope"] as? [String: Any])?["name"] as? String == "io.kyma.test")
        // No event time: the observed time stands in; the array body is kept as JSON text.
        let second = objects[1]
        #expect((second["timestamp"] as? NSNumber)?.int64Value == 1_700_000_001_000_000_000)
        #expect((second["observed_timestamp"] as? NSNumber)?.int64Value == 1_700_000_001_000_000_000)
        #expect(second["body"] as? String == "[1,2.5]")
    }

    @Test func jsonAndProtobufGiveTheSameRows() throws {
        let json = """
            {"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"cart"}}]},
             "scopeLogs":[{"scope":{"name":"io.kyma.test"},"logRecords":[
              {"timeUnixNano":"1700000000123456789","severityNumber":9,"severityText":"INFO","body":{"stringValue":"added item"},
               "attributes":[{"key":"item","value":{"intValue":"42"}},{"key":"ctx","value":{"kvlistValue":{"values":[{"key":"inner","value":{"stringValue":"x"}}]}}}],
               "traceId":"000102030405060708090A0B0C0D0E0F","spanId":"abcdef0123456789"},
              {"observedTimeUnixNano":1700000001000000000,"body":{"arrayValue":{"values":[{"intValue":1},{"doubleValue":2.5}]}}}]}]}]}
            """
        let fromJSON = try OTLPLogs.rows(json: Array(json.utf8), receivedNanos: 7)
        let fromProtobuf = try OTLPLogs.rows(protobuf: Self.request(), receivedNanos: 7)
        #expect(Self.objects(fromJSON).map(canonicalText) == Self.objects(fromProtobuf).map(canonicalText))
    }

    @Test func badRequestsAreTypedErrors() {
        #expect(throws: OTLPError.self) { try OTLPLogs.rows(protobuf: [0x0A, 0xFF, 0xFF, 0xFF, 0x0F], receivedNanos: 0) }
        #expect(throws: OTLPError.self) { try OTLPLogs.rows(json: Array("[1]".utf8), receivedNanos: 0) }
        #expect(throws: OTLPError.self) { try OTLPLogs.rows(json: Array(#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"spanId":"zz"}]}]}]}"#.utf8), receivedNanos: 0) }
        // An empty request is no records, not an error; a record without times takes the time received.
        #expect((try? OTLPLogs.rows(protobuf: [], receivedNanos: 0))?.records == 0)
        let untimed = try? OTLPLogs.rows(json: Array(#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"}}]}]}]}"#.utf8), receivedNanos: 99)
        #expect(untimed.map(Self.objects)?.first?["timestamp"] as? Int == 99)
    }

    @Test func theResponseIsAnExportLogsServiceResponse() {
        #expect(OTLPLogs.response(rejected: 0, message: "").isEmpty, "a full success is the empty message")
        // partial_success (field 1) { rejected_log_records (1) = 3, error_message (2) = "no" }
        #expect(OTLPLogs.response(rejected: 3, message: "no") == [0x0A, 0x06, 0x08, 0x03, 0x12, 0x02, 0x6E, 0x6F])
    }
}

func canonicalText(_ object: [String: Any]) -> String {
    (try? JSONText.string(object)) ?? ""
}
