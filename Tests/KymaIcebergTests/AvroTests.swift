// Avro container files written by Kyma, read back by fastavro (PyPI): Iceberg's manifest-list
// schema with field ids, optional fields as unions, nested arrays of records, maps, several blocks.

import Foundation
import KymaIceberg
import KymaTestSupport
import Testing

@Suite("Avro")
struct AvroTests {
    static let manifestFileSchema = """
    {"type": "record", "name": "manifest_file", "fields": [
      {"name": "manifest_path", "type": "string", "field-id": 500},
      {"name": "manifest_length", "type": "long", "field-id": 501},
      {"name": "partition_spec_id", "type": "int", "field-id": 502},
      {"name": "content", "type": "int", "field-id": 517},
      {"name": "added_snapshot_id", "type": "long", "field-id": 503},
      {"name": "partitions", "type": ["null", {"type": "array", "items": {"type": "record", "name": "r508", "fields": [
         {"name": "contains_null", "type": "boolean", "field-id": 509},
         {"name": "lower_bound", "type": ["null", "bytes"], "default": null, "field-id": 510}]}, "element-id": 508}],
       "default": null, "field-id": 507},
      {"name": "ratio", "type": "double"},
      {"name": "props", "type": {"type": "map", "values": "string"}}
    ]}
    """

    @Test func fastavroReadsWhatKymaWrites() throws {
        var records: [AvroValue] = []
        for i in 0..<2500 {
            var parts: [AvroValue] = []
            for k in 0..<(i % 4) {
                let bound: AvroValue? = k == 1 ? nil : AvroValue.bytes([UInt8(k), UInt8(i % 256)])
                parts.append(AvroValue.record([AvroValue.boolean(k % 2 == 0), AvroValue.optional(bound)]))
            }
            let partitions: AvroValue = i % 3 == 0 ? AvroValue.optional(nil) : AvroValue.optional(AvroValue.array(parts))
            let props: [(String, AvroValue)] = i % 2 == 0 ? [] : [("k\(i)", AvroValue.string("v")), ("x", AvroValue.string("y\(i)"))]
            let fields: [AvroValue] = [
                .string("s3://warehouse/db/t/metadata/snap-\(i)-ü.avro"), .long(Int64(i) * 1_000_003 - 7), .int(Int32(i % 5) - 2), .int(0),
                .long(Int64.max - Int64(i)), partitions, .double(Double(i) / 3), .map(props),
            ]
            records.append(.record(fields))
        }
        let bytes = AvroEncoder.containerFile(schemaJSON: Self.manifestFileSchema, metadata: [("format-version", "2")], records: records, blockRecords: 1000)
        let path = TestServices.makeTemporaryDirectory("kyma-avro") + "/list.avro"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let script = """
        import sys, json, fastavro
        with open(sys.argv[1], "rb") as f:
            reader = fastavro.reader(f)
            meta = {k: v.decode() if isinstance(v, bytes) else v for k, v in reader.metadata.items()}
            rows = []
            for r in reader:
                parts = r["partitions"]
                rows.append([r["manifest_path"], r["manifest_length"], r["partition_spec_id"], r["content"], str(r["added_snapshot_id"]),
                             None if parts is None else [[p["contains_null"], None if p["lower_bound"] is None else list(p["lower_bound"])] for p in parts],
                             repr(r["ratio"]), sorted(r["props"].items())])
        print(json.dumps({"meta": meta.get("format-version"), "rows": rows}))
        """
        let printed = try PythonScript.run(script, [path])
        let answer = try JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [String: Any]
        #expect(answer?["meta"] as? String == "2")
        let rows = answer?["rows"] as? [[Any]] ?? []
        #expect(rows.count == 2500)
        for (i, row) in rows.enumerated() where i % 97 == 0 || i < 5 {
            #expect(row[0] as? String == "s3://warehouse/db/t/metadata/snap-\(i)-ü.avro")
            #expect((row[1] as? NSNumber)?.int64Value == Int64(i) * 1_000_003 - 7)
            #expect((row[2] as? NSNumber)?.intValue == i % 5 - 2)
            #expect(row[4] as? String == String(Int64.max - Int64(i)))
            if i % 3 == 0 {
                #expect(row[5] is NSNull)
            } else {
                let parts = row[5] as? [[Any]] ?? []
                #expect(parts.count == i % 4)
                for (k, part) in parts.enumerated() {
                    #expect((part[0] as? NSNumber)?.boolValue == (k % 2 == 0))
                    if k == 1 { #expect(part[1] is NSNull) } else { #expect((part[1] as? [NSNumber])?.map(\.intValue) == [k, i % 256]) }
                }
            }
            #expect(Double(row[6] as? String ?? "") == Double(i) / 3)
            #expect((row[7] as? [[String]])?.count == (i % 2 == 0 ? 0 : 2))
        }
    }
}
