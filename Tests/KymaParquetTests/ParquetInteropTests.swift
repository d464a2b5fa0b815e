// Parquet written by Kyma is read by pyarrow and DuckDB with identical values; Parquet written by
// pyarrow (dictionary or plain, uncompressed or zstd, data pages v1 and v2, nulls) is read by Kyma
// with identical values; damaged files are typed errors.

import Foundation
import KymaCore
import KymaParquet
import KymaTestSupport
import Testing

struct RandomRows {
    var generator: SplitMix64
    init(state: UInt64) { generator = SplitMix64(seed: state) }
    mutating func next() -> UInt64 { generator.next() }

    static let fields = [
        ParquetField(name: "id", type: .int64, optional: false, fieldID: 1),
        ParquetField(name: "level", type: .string, fieldID: 2),
        ParquetField(name: "latency", type: .float64, fieldID: 3),
        ParquetField(name: "ok", type: .bool, fieldID: 4),
        ParquetField(name: "ts", type: .timestamp, fieldID: 5),
        ParquetField(name: "msg", type: .string, fieldID: 6),
    ]

    mutating func batch(rows: Int, start: Int) throws -> ColumnBatch {
        var builders = Self.fields.map { ColumnBuilder($0.type) }
        let levels = ["info", "warn", "error", "débug ✓"]
        for i in 0..<rows {
            try builders[0].append(.int64(Int64(start + i) * (next() % 2 == 0 ? 1 : -1)))
            try builders[1].append(next() % 7 == 0 ? .null : .string(levels[Int(next() % 4)]))
            try builders[2].append(next() % 5 == 0 ? .null : .float64(Double(next() % 100_000) / 7))
            try builders[3].append(next() % 9 == 0 ? .null : .bool(next() % 2 == 0))
            try builders[4].append(next() % 11 == 0 ? .null : .timestamp(1_700_000_000_000_000_000 + Int64(next() % 1_000_000_000) * 1000))
            try builders[5].append(.string("request \(next() % 100_000) took \(next() % 500) ms"))
        }
        return try ColumnBatch(rowCount: rows, columns: zip(Self.fields, builders).map { ($0.name, $1.finish()) })
    }
}

func rows(_ batches: [ColumnBatch]) -> [[ScalarValue]] {
    batches.flatMap { batch in (0..<batch.rowCount).map { row in batch.columns.map { $0.value(at: row) } } }
}

func python(_ script: String, _ arguments: [String]) throws -> String { try PythonScript.run(script, arguments) }

/// The values as the Python side prints them: JSON with timestamps as integer microseconds.
func pythonJSON(_ rows: [[ScalarValue]]) -> [[String]] {
    rows.map { row in
        row.map { value in
            switch value {
            case .null: "null"
            case .int64(let v): String(v)
            case .float64(let v): String(v)
            case .bool(let b): b ? "true" : "false"
            case .string(let s): "s:" + s
            case .timestamp(let v): "t:" + String(v / 1000)
            case .binary(let b): "b:" + b.map(String.init).joined(separator: ",")
            }
        }
    }
}

let readerScript = """
import json, sys, datetime
import pyarrow.parquet as pq, duckdb
def norm(v):
    if v is None: return "null"
    if isinstance(v, bool): return "true" if v else "false"
    if isinstance(v, int): return str(v)
    if isinstance(v, float): return repr(v)
    if isinstance(v, str): return "s:" + v
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None: v = v.replace(tzinfo=datetime.timezone.utc)
        d = v - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        return "t:" + str((d.days * 86400 + d.seconds) * 1000000 + d.microseconds)
    return "?" + repr(v)
table = pq.read_table(sys.argv[1], page_checksum_verification=True)  # Kyma writes page CRCs: pyarrow checks them
arrow_rows = [[norm(table.column(c)[r].as_py()) for c in range(table.num_columns)] for r in range(table.num_rows)]
con = duckdb.connect(); con.execute("SET TimeZone='UTC'")
duck_rows = [[norm(v) for v in row] for row in con.execute("SELECT * FROM read_parquet(?)", [sys.argv[1]]).fetchall()]
ids = [f.metadata[b"PARQUET:field_id"].decode() if f.metadata and b"PARQUET:field_id" in f.metadata else "none" for f in table.schema]
codecs = sorted({pq.ParquetFile(sys.argv[1]).metadata.row_group(g).column(c).compression
                 for g in range(pq.ParquetFile(sys.argv[1]).metadata.num_row_groups) for c in range(table.num_columns)})
print(json.dumps({"arrow": arrow_rows, "duck": duck_rows, "field_ids": ids, "schema": [str(f.type) for f in table.schema], "codecs": codecs}))
"""

@Suite("Parquet interop")
struct ParquetInteropTests {
    /// codec-encoding-page version-rows per page.
    @Test(arguments: ["zstd-dict-v1-all", "none-plain-v1-all", "zstd-plain-v2-97", "none-dict-v2-all", "zstd-dict-v2-64", "none-dict-v1-300",
                      "snappy-dict-v1-all", "snappy-plain-v2-97", "gzip-dict-v2-64", "lz4-plain-v1-300"])
    func kymaWritesWhatPyarrowAndDuckDBReadIdentically(_ variant: String) throws {
        let parts = variant.split(separator: "-").map(String.init)
        var random = RandomRows(state: UInt64(variant.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        var options = ParquetWriteOptions()
        options.codec = try #require(ParquetCodec(name: parts[0]))
        options.dictionary = parts[1] == "dict"
        options.dataPageVersion = parts[2] == "v2" ? 2 : 1
        options.pageRows = Int(parts[3]) ?? 1 << 20
        options.rowGroupRows = 700
        let writer = try ParquetWriter(fields: RandomRows.fields, options: options)
        var batches: [ColumnBatch] = []
        for start in stride(from: 0, to: 2000, by: 500) {
            let batch = try random.batch(rows: 500, start: start)
            batches.append(batch)
            try writer.append(batch)
        }
        let bytes = try writer.finish()
        let path = TestServices.makeTemporaryDirectory("kyma-parquet") + "/kyma.parquet"
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        // Our own reader first.
        let file = try ParquetFile(bytes: bytes)
        #expect(file.rowCount == 2000)
        #expect(file.rowGroups.count == 3)
        #expect(file.fields == RandomRows.fields)
        #expect(rows(try file.readAll()) == rows(batches))

        // Then the judges.
        let answer = try JSONSerialization.jsonObject(with: Data(try python(readerScript, [path]).utf8)) as? [String: Any]
        let expected = pythonJSON(rows(batches))
        let arrow = answer?["arrow"] as? [[String]] ?? []
        let duck = answer?["duck"] as? [[String]] ?? []
        #expect(arrow.count == expected.count)
        #expect(arrow == expected, "pyarrow reads the values Kyma wrote")
        #expect(duck == expected, "DuckDB reads the values Kyma wrote")
        #expect(answer?["field_ids"] as? [String] == ["1", "2", "3", "4", "5", "6"])
        #expect(answer?["schema"] as? [String] == ["int64", "string", "double", "bool", "timestamp[us, tz=UTC]", "string"])
        // pyarrow names LZ4_RAW "LZ4" (the Hadoop framing would be "LZ4_FRAME"/"LZ4_HADOOP").
        let codecName = ["none": "UNCOMPRESSED", "zstd": "ZSTD", "snappy": "SNAPPY", "gzip": "GZIP", "lz4": "LZ4"][parts[0]]
        #expect(answer?["codecs"] as? [String] == [codecName ?? "?"], "every column chunk records the codec it was written with")
    }

    @Test func datesRoundTripWithPyarrowAndDuckDB() throws {
        // pyarrow writes DATE (date32) with nulls; Kyma reads midnight-UTC timestamps.
        let directory = TestServices.makeTemporaryDirectory("kyma-parquet-date")
        _ = try python("""
            import sys, datetime
            import pyarrow as pa, pyarrow.parquet as pq
            days = [None if i % 7 == 0 else datetime.date(1969, 12, 1) + datetime.timedelta(days=i * 13) for i in range(500)]
            pq.write_table(pa.table({"d": pa.array(days, pa.date32())}), sys.argv[1] + "/in.parquet", compression="zstd")
            """, [directory])
        let file = try ParquetFile(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/in.parquet"))))
        #expect(file.fields.first?.type == .timestamp && file.fields.first?.date == true)
        let values = try file.readAll().flatMap { b in (0..<b.rowCount).map { b.columns[0].value(at: $0) } }
        let base: Int64 = -31 * 86_400_000_000_000  // 1969-12-01
        for (i, v) in values.enumerated() {
            #expect(v == (i % 7 == 0 ? .null : .timestamp(base + Int64(i * 13) * 86_400_000_000_000)), "row \(i)")
        }
        // Kyma writes DATE; pyarrow and DuckDB read the same days (the time of day floored away).
        let writer = try ParquetWriter(fields: [ParquetField(name: "d", type: .timestamp, date: true)])
        var builder = ColumnBuilder(.timestamp)
        for i in 0..<300 { try builder.append(i % 9 == 0 ? .null : .timestamp(base + Int64(i) * 86_400_000_000_000 + 3_600_000_000_000)) }
        try writer.append(try ColumnBatch(rowCount: 300, columns: [("d", builder.finish())]))
        try Data(try writer.finish()).write(to: URL(fileURLWithPath: directory + "/out.parquet"))
        let printed = try python("""
            import sys, datetime, duckdb
            import pyarrow.parquet as pq
            t = pq.read_table(sys.argv[1] + "/out.parquet")
            epoch = datetime.date(1970, 1, 1)
            arrow = [None if v is None else (v - epoch).days for v in t.column("d").to_pylist()]
            duck = [None if r[0] is None else (r[0] - epoch).days for r in duckdb.sql(f"SELECT d FROM '{sys.argv[1]}/out.parquet'").fetchall()]
            print(str(t.schema.field("d").type), arrow == duck, ",".join("n" if v is None else str(v) for v in arrow))
            """, [directory])
        let parts = printed.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        #expect(parts.count == 3 && parts[0] == "date32[day]" && parts[1] == "True", "\(printed)")
        let expected = (0..<300).map { $0 % 9 == 0 ? "n" : String(-31 + $0) }.joined(separator: ",")
        #expect(parts.last.map(String.init) == expected)
    }

    @Test func bloomFiltersAreWhatDuckDBProbes() throws {
        var options = ParquetWriteOptions()
        options.rowGroupRows = 1000
        options.pageRows = 250
        options.bloomFilterColumns = ["id", "level", "msg"]
        options.bloomFilterFPP = 0.01
        var random = RandomRows(state: 77)
        let writer = try ParquetWriter(fields: RandomRows.fields, options: options)
        var batches: [ColumnBatch] = []
        for start in stride(from: 0, to: 3000, by: 1000) {
            batches.append(try random.batch(rows: 1000, start: start))
            try writer.append(batches.last!)
        }
        let bytes = try writer.finish()
        let path = TestServices.makeTemporaryDirectory("kyma-parquet-bloom") + "/bloom.parquet"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        // Present ids (per row group) must never be excluded; absent ids mostly are.
        let present = batches.map { batch in (0..<batch.rowCount).compactMap { r -> Int64? in if case .int64(let v) = batch.columns[0].value(at: r) { v } else { nil } } }
        let printed = try python("""
            import sys, json, duckdb
            path, present = sys.argv[1], json.loads(sys.argv[2])
            con = duckdb.connect()
            def probe(col, v):
                return {g: ex for _, g, ex in con.execute("SELECT * FROM parquet_bloom_probe(?, ?, ?)", [path, col, v]).fetchall()}
            wrongly = sum(1 for g, ids in enumerate(present) for v in ids[::25] if probe("id", v)[g])
            absent = [probe("id", 10**9 + k) for k in range(200)]
            excluded = sum(ex for p in absent for ex in p.values())
            level = probe("level", "warn"), probe("level", "nope")
            print(json.dumps({"wrongly": wrongly, "excluded": excluded, "checks": sum(len(p) for p in absent),
                              "warn": list(level[0].values()), "nope": list(level[1].values())}))
            """, [path, String(decoding: try JSONSerialization.data(withJSONObject: present.map { $0.map { NSNumber(value: $0) } }), as: UTF8.self)])
        let answer = try JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [String: Any] ?? [:]
        #expect(answer["wrongly"] as? Int == 0, "a present value was excluded: \(printed)")
        #expect((answer["excluded"] as? Int ?? 0) >= 580, "absent values excluded by the filters: \(printed)")
        #expect(answer["warn"] as? [Bool] == [false, false, false])
        #expect(answer["nope"] as? [Bool] == [true, true, true])
        // Kyma's reader finds the same filters and they hold every present value.
        let file = try ParquetFile(bytes: bytes)
        for group in 0..<3 {
            let range = try #require(file.bloomRange(rowGroup: group, column: 0))
            let filter = try ParquetFile.bloomFilter(Array(bytes[range]))
            #expect(present[group].allSatisfy { filter.mightContain(hash: file.bloomHash(.int64($0), column: 0)!) })
        }
        #expect(file.bloomRange(rowGroup: 0, column: 2) == nil, "no filter where none was asked for")
    }

    @Test(arguments: ["none-dict-v1", "zstd-dict-v2", "zstd-plain-v1", "none-plain-v2", "snappy-dict-v1", "snappy-plain-v2", "gzip-dict-v2", "lz4-plain-v1"])
    func kymaReadsWhatPyarrowWrites(_ variant: String) throws {
        let parts = variant.split(separator: "-").map(String.init)
        let path = TestServices.makeTemporaryDirectory("kyma-parquet-in") + "/pyarrow.parquet"
        let script = """
        import sys, json, datetime, random
        import pyarrow as pa, pyarrow.parquet as pq
        random.seed(5)
        n = 3000
        ids = list(range(n))
        levels = [random.choice(["info", "warn", None, "érror"]) for _ in range(n)]
        lat = [None if random.random() < 0.2 else random.random() * 1000 for _ in range(n)]
        small = [random.randint(-5, 5) for _ in range(n)]
        ok = [None if random.random() < 0.1 else random.random() < 0.5 for _ in range(n)]
        ts = [datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(microseconds=random.randint(0, 10**12)) for _ in range(n)]
        t = pa.table({"id": pa.array(ids, pa.int64()), "level": pa.array(levels, pa.string()), "lat": pa.array(lat, pa.float64()),
                      "small": pa.array(small, pa.int32()), "ok": pa.array(ok, pa.bool_()), "ts": pa.array(ts, pa.timestamp("us", tz="UTC"))})
        pq.write_table(t, sys.argv[1], compression=sys.argv[2], use_dictionary=(sys.argv[3] == "dict"), data_page_version=sys.argv[4], row_group_size=1000)
        def norm(v):
            if v is None: return "null"
            if isinstance(v, bool): return "true" if v else "false"
            if isinstance(v, int): return str(v)
            if isinstance(v, float): return repr(v)
            if isinstance(v, str): return "s:" + v
            d = v - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
            return "t:" + str((d.days * 86400 + d.seconds) * 1000000 + d.microseconds)
        print(json.dumps([[norm(t.column(c)[r].as_py()) for c in range(t.num_columns)] for r in range(n)]))
        """
        let printed = try python(script, [path, parts[0], parts[1], parts[2] == "v1" ? "1.0" : "2.0"])
        let expected = try JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [[String]] ?? []
        let file = try ParquetFile(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(file.rowGroups.count == 3)
        #expect(file.fields.map(\.type) == [.int64, .string, .float64, .int64, .bool, .timestamp])
        let got = pythonJSON(rows(try file.readAll()))
        #expect(got.count == 3000)
        #expect(got == expected, "\(variant): Kyma reads pyarrow's values")
        // Row-group statistics agree with the values.
        let first = try file.read(rowGroup: 0)
        let ids = (0..<first.rowCount).compactMap { if case .int64(let v) = first.column(named: "id")?.value(at: $0) { v } else { nil } }
        #expect(file.rowGroups[0].statistics[0].min == .int64(ids.min() ?? -1))
        #expect(file.rowGroups[0].statistics[0].max == .int64(ids.max() ?? -1))
    }

    @Test func damagedFilesAreTypedErrors() throws {
        var random = RandomRows(state: 99)
        let writer = try ParquetWriter(fields: RandomRows.fields)
        try writer.append(try random.batch(rows: 300, start: 0))
        let bytes = try writer.finish()
        var seed: UInt64 = 1
        for mutation in 0..<600 {
            var damaged = bytes
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let position = Int(seed >> 33) % damaged.count
            damaged[position] ^= UInt8(1 + (seed >> 20) % 255)
            if mutation % 7 == 0 { damaged = Array(damaged.prefix(Int(seed >> 40) % damaged.count)) }
            do {
                let file = try ParquetFile(bytes: damaged)
                _ = try file.readAll()  // may decode (a flipped value byte); must not crash
            } catch {
                #expect(!error.description.isEmpty)
            }
        }
        #expect(throws: ParquetError.self) { try ParquetWriter(fields: [ParquetField(name: "v", type: .float32Vector)]) }
        #expect(throws: ParquetError.self) {
            let w = try ParquetWriter(fields: [ParquetField(name: "x", type: .int64, optional: false)])
            try w.append(try ColumnBatch(rowCount: 1, columns: [("x", Column(.int64([0]), validity: ValidityBitmap(words: [0], count: 1)))]))
        }
    }
}
