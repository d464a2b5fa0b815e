// The k2i engine end to end against real parts: librdkafka's mock cluster, PostgreSQL (the
// Iceberg SQL catalog) and a local object store; pyiceberg is the judge of what lands in the
// table. Exactly once across restarts, bad records to the rejected file with reasons, a row
// visible in the hot buffer before it is committed, metrics that move.

import Foundation
import KymaCatalogPostgres
import KymaCore
import KymaIceberg
import KymaK2I
import KymaKafka
import KymaKQL
import KymaObjectStoreLocal
import KymaPlan
import KymaTestSupport
import Testing

/// A k2i engine on a thread, stopped and joined by `stop()`.
final class RunningEngine: @unchecked Sendable {
    let engine: K2IEngine
    private let done = DispatchSemaphore(value: 0)
    private(set) var error: K2IError?

    init(_ engine: K2IEngine) {
        self.engine = engine
        let thread = Thread { [self] in
            do throws(K2IError) { try engine.run() } catch { self.error = error }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    // Everything that blocks (waiting for the engine's thread, an HTTP handler that waits on its
    // own tasks) runs on a BlockingIO thread: blocking one of Swift concurrency's few threads from
    // a test starved the engine's own tasks when other tests did the same, and the run hung.

    func stop() async throws {
        engine.stopRequested.store(true, ordering: .relaxed)
        let done = self.done
        try await BlockingIO.run { done.wait() }
        if let error { throw error }
    }

    /// Whether the engine returned by itself (`--exit-at-end`) within `seconds`; throws its error.
    func finished(within seconds: Double) async throws -> Bool {
        let done = self.done
        guard try await BlockingIO.run({ done.wait(timeout: .now() + seconds) == .success }) else { return false }
        done.signal()  // stop() may still be called
        if let error { throw error }
        return true
    }

    /// The engine's clock at its last status update (the consuming loop updates it as it runs).
    var statusMillis: Int64 {
        let status = (try? JSONSerialization.jsonObject(with: Data(engine.statusJSON.utf8))) as? [String: Any]
        return (status?["updated_ms"] as? NSNumber)?.int64Value ?? 0
    }

    /// The sum of the high watermarks the consumer has seen on its partitions (-1: not yet).
    var highWatermarks: Int64 {
        let status = (try? JSONSerialization.jsonObject(with: Data(engine.statusJSON.utf8))) as? [String: Any]
        let partitions = status?["partitions"] as? [[String: Any]] ?? []
        let marks = partitions.map { ($0["high_watermark"] as? NSNumber)?.int64Value ?? -1 }
        return marks.isEmpty || marks.contains(-1) ? -1 : marks.reduce(0, +)
    }

    /// Waits until `condition` holds or `seconds` pass, yielding between looks.
    func wait(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Int64(seconds * 1000)))
        while clock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    /// An HTTP GET to the engine, as its listener's threads make it.
    func get(_ path: String, _ query: [String: String]) async -> HTTPReply {
        await Self.get(engine, path, query)
    }

    static func get(_ engine: K2IEngine, _ path: String, _ query: [String: String]) async -> HTTPReply {
        (try? await BlockingIO.run { engine.handle(method: "GET", path: path, query: query) }) ?? HTTPReply(599, "")
    }
}

struct K2IFixture {
    let cluster: KafkaMockCluster
    let producer: KafkaProducer
    let databaseURL: String
    let root: String
    let configText: String

    static let jsonFormat = "[kafka.format]\nkey_field = \"id\"\ntimestamp_field = \"ts\"\ninfer_from_records = 5"

    static func make(_ name: String, format: String = jsonFormat, iceberg: String = "", extra: String = "") async throws -> K2IFixture {
        let admin = try TestServices.require("KYMA_PG_ADMIN_URL")
        let database = TestServices.uniqueName(name)
        _ = try await PostgresCatalog(url: admin, migrate: false).executeForTesting("CREATE DATABASE \(database)")
        let databaseURL = String(admin[...(admin.lastIndex(of: "/") ?? admin.startIndex)]) + database
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("events", partitions: 3)
        let producer = try KafkaProducer(["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "1"])
        let root = TestServices.makeTemporaryDirectory(name)
        let text = """
        [kafka]
        bootstrap_servers = "\(cluster.bootstrapServers)"
        topic = "events"
        consumer_group = "k2i-test"
        batch_timeout_ms = 100
        rejected_file = "\(root)/rejected.jsonl"
        \(format)
        [iceberg]
        warehouse_path = "\(root)/warehouse"
        database_name = "k2i"
        table_name = "events"
        \(iceberg)
        [iceberg.sql_catalog]
        url = "\(databaseURL)"
        [buffer]
        flush_interval_seconds = 1
        flush_batch_size = 500
        [transaction_log]
        log_dir = "\(root)/txlog"
        [maintenance]
        compaction_enabled = false
        snapshot_expiration_enabled = false
        orphan_cleanup_enabled = false
        \(extra)
        """
        return K2IFixture(cluster: cluster, producer: producer, databaseURL: databaseURL, root: root, configText: text)
    }

    /// `consumerGroup`: another group than the config's (a restart in the same group waits out
    /// the mock cluster's rebalance, about 30 s; k2i's offsets are in the table either way).
    func engine(consumerGroup: String? = nil) async throws -> K2IEngine {
        let config = try K2IConfig.parse(configText, environment: consumerGroup.map { ["K2I_KAFKA_CONSUMER_GROUP": $0] } ?? [:])
        let catalog = try await PostgresCatalog(url: databaseURL)
        let tables = IcebergTables(catalog: catalog, store: try LocalFileSystemObjectStore(root: root + "/warehouse"), storeURI: "file://" + root + "/warehouse")
        return K2IEngine(config: config, tables: tables, log: K2ILog(level: .warn))
    }

    func produce(_ ids: Range<Int>) throws {
        for i in ids {
            let value = #"{"id":"e\#(i)","ts":"2026-11-22T10:\#(String(format: "%02d", (i / 60) % 60)):\#(String(format: "%02d", i % 60))Z","n":\#(i),"level":"\#(["info", "warn"][i % 2])"}"#
            try producer.send(topic: "events", key: Array("e\(i)".utf8), value: Array(value.utf8))
        }
        try producer.flush()
    }

    /// pyiceberg's view: row count, distinct ids, and the recorded offsets.
    func judge() throws -> (rows: Int, distinct: Int, offsets: [String: Int]) {
        let printed = try PythonScript.run("""
            import sys, json
            from pyiceberg.catalog.sql import SqlCatalog
            t = SqlCatalog("kyma", uri=sys.argv[1], warehouse="file://" + sys.argv[2]).load_table("k2i.events")
            rows = t.scan().to_arrow().to_pylist()
            snap = t.current_snapshot()
            offsets = json.loads(snap.summary.additional_properties.get("k2i.offsets", "{}")) if snap else {}
            print(json.dumps({"rows": len(rows), "distinct": len({r["id"] for r in rows}), "offsets": offsets}))
            """, [databaseURL.replacingOccurrences(of: "postgres://", with: "postgresql+psycopg2://"), root + "/warehouse"])
        let answer = try JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [String: Any] ?? [:]
        return (answer["rows"] as? Int ?? -1, answer["distinct"] as? Int ?? -1, answer["offsets"] as? [String: Int] ?? [:])
    }
}

@Suite("k2i engine", .serialized)
struct K2IEngineTests {
    @Test func everyRecordLandsExactlyOnceAcrossRestarts() async throws {
        let fixture = try await K2IFixture.make("k2i_once")
        try fixture.produce(0..<1200)
        let first = try await fixture.engine()
        first.queryFrontends = FrontendRegistry([KQLFrontend()])
        var running = RunningEngine(first)
        #expect(await running.wait(60) { running.engine.metrics.value("k2i_rows_committed_total") >= 1200 }, "committed \(running.engine.metrics.value("k2i_rows_committed_total"))")
        // Bad records (after the schema was inferred from good ones): invalid JSON, a wrong type, no key.
        try fixture.producer.send(topic: "events", key: nil, value: Array("{broken".utf8))
        try fixture.producer.send(topic: "events", key: nil, value: Array(#"{"id":"bad","n":"many"}"#.utf8))
        try fixture.producer.send(topic: "events", key: nil, value: Array(#"{"n":5}"#.utf8))
        try fixture.producer.flush()
        #expect(await running.wait(30) { running.engine.metrics.rejectedTotal() == 3 }, "rejected \(running.engine.metrics.rejectedTotal())")
        let metrics = running.engine.metrics.render()
        #expect(metrics.contains("k2i_records_rejected_total{reason=\"invalid_json\"} 1"))
        #expect(metrics.contains("k2i_records_rejected_total{reason=\"wrong_type\"} 1"))
        #expect(metrics.contains("k2i_records_rejected_total{reason=\"missing_key\"} 1"))
        #expect(metrics.contains("k2i_messages_consumed_total 1203"))
        // A new record is visible through /lookup: from the hot buffer, or once committed, from the
        // table. (How soon is a measurement, not a test: harness/bench-k2i reports freshness.)
        try fixture.produce(5000..<5001)
        #expect(await running.wait(60) { running.engine.handle(method: "GET", path: "/lookup", query: ["key": "e5000"]).status == 200 || running.engine.metrics.value("k2i_rows_committed_total") >= 1201 })
        #expect(await running.get("/lookup", ["key": "e5000", "committed": "true"]).status == 200)
        // One KQL query over the committed rows and the hot buffer together: each row once.
        let counted = await running.get("/query", ["kql": "events | summarize c = count(), d = dcount(id), m = max(n)"])
        #expect(counted.status == 200 && counted.body.contains("\"c\":1201") && counted.body.contains("\"m\":5000"), "\(counted.body)")
        let byLevel = await running.get("/query", ["kql": "events | where n >= 1190 | summarize c = count() by level | order by level asc"])
        #expect(byLevel.body == "{\"c\":6,\"level\":\"info\"}\n{\"c\":5,\"level\":\"warn\"}\n", "\(byLevel.body)")
        #expect(await running.get("/query", ["kql": "events | where"]).status == 400)
        #expect(await running.get("/readyz", [:]).status == 200)
        try await running.stop()
        var judged = try fixture.judge()
        #expect(judged.rows == 1201 && judged.distinct == 1201, "\(judged)")
        #expect(judged.offsets.values.reduce(0, +) == 1204, "offsets cover every record, rejected ones included: \(judged.offsets)")
        let rejected = try String(contentsOfFile: fixture.root + "/rejected.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(rejected.count == 3 && rejected.allSatisfy { $0.contains("\"reason\"") })
        // A restart reads nothing twice; new records continue after the recorded offsets.
        try fixture.produce(1200..<1500)
        running = RunningEngine(try await fixture.engine())
        #expect(await running.wait(60) { running.engine.metrics.value("k2i_rows_committed_total") >= 300 })
        try await running.stop()
        judged = try fixture.judge()
        #expect(judged.rows == 1501 && judged.distinct == 1501, "\(judged)")
    }

    /// `k2i ingest --exit-at-end`: the engine stops by itself once every partition is consumed to
    /// its end, committing everything, also records still held for schema inference; a run with
    /// nothing new ends at once. pyiceberg judges the table.
    @Test func exitAtEndStopsOnceEveryPartitionIsConsumed() async throws {
        let fixture = try await K2IFixture.make("k2i_exit_at_end")
        // Three records, fewer than the five schema inference waits for.
        try fixture.produce(0..<3)
        var engine = try await fixture.engine()
        engine.exitAtEnd = true
        var running = RunningEngine(engine)
        #expect(try await running.finished(within: 60), "the engine did not stop by itself")
        var judged = try fixture.judge()
        #expect(judged.rows == 3 && judged.distinct == 3, "\(judged)")
        #expect(engine.summary["consumed"] == "3" && engine.summary["rows_committed"] == "3", "\(engine.summary)")
        // A backlog in every partition, over several flushes (flush_batch_size is 500).
        try fixture.produce(3..<1703)
        engine = try await fixture.engine(consumerGroup: "k2i-test-2")
        engine.exitAtEnd = true
        running = RunningEngine(engine)
        #expect(try await running.finished(within: 60), "the engine did not stop by itself")
        judged = try fixture.judge()
        #expect(judged.rows == 1703 && judged.distinct == 1703, "\(judged)")
        #expect(judged.offsets.values.reduce(0, +) == 1703, "\(judged.offsets)")
        let summary = engine.summary
        #expect(summary["consumed"] == "1700" && summary["rows_committed"] == "1700", "\(summary)")
        let first = Int64(summary["first_consumed_ms"] ?? "") ?? -1, last = Int64(summary["last_consumed_ms"] ?? "") ?? -1
        let committed = Int64(summary["last_commit_ms"] ?? "") ?? -1
        #expect(first > 0 && first <= last && last <= committed, "\(summary)")
        // Nothing new: it ends without consuming or committing.
        engine = try await fixture.engine(consumerGroup: "k2i-test-3")
        engine.exitAtEnd = true
        running = RunningEngine(engine)
        #expect(try await running.finished(within: 60), "the engine did not stop by itself")
        #expect(engine.summary["consumed"] == "0" && engine.summary["last_commit_ms"] == nil, "\(engine.summary)")
        #expect(try fixture.judge().rows == 1703)
    }

    @Test func theTransactionLogRefillsTheBufferAfterACrash() async throws {
        let fixture = try await K2IFixture.make("k2i_txlog")
        try fixture.produce(0..<200)
        // What a crashed k2i leaves behind: the records it had buffered, in its log (read here
        // with another consumer group, so their partitions and offsets are the real ones).
        let reader = try KafkaConsumer(["bootstrap.servers": fixture.cluster.bootstrapServers, "group.id": "other", "auto.offset.reset": "earliest"])
        try reader.subscribe(["events"])
        var records: [KafkaMessage] = []
        let deadline = Date().addingTimeInterval(30)
        while records.count < 200, Date() < deadline { if let m = try reader.poll(timeoutMillis: 100) { records.append(m) } }
        reader.close()
        #expect(records.count == 200)
        let log = try TransactionLog(directory: fixture.root + "/txlog", name: "k2i.events")
        try log.append(records)
        try log.waitForWrites()
        // The restarted engine commits them once and does not read them from Kafka again.
        let running = RunningEngine(try await fixture.engine())
        #expect(await running.wait(60) { running.engine.metrics.value("k2i_rows_committed_total") >= 200 })
        // A marker record after them: once it is committed, the consumer has read the topic past
        // the logged records, and it must have consumed the marker alone.
        try fixture.produce(200..<201)
        #expect(await running.wait(60) { running.engine.metrics.value("k2i_rows_committed_total") >= 201 })
        #expect(running.engine.metrics.value("k2i_messages_consumed_total") == 1, "the logged records are not consumed again")
        try await running.stop()
        let judged = try fixture.judge()
        #expect(judged.rows == 201 && judged.distinct == 201, "\(judged)")
        #expect(try TransactionLog(directory: fixture.root + "/txlog", name: "k2i.events").recover().isEmpty, "the log is truncated after the commit")
    }
    @Test func newFieldsBecomeColumnsAndEarlierRowsReadNull() async throws {
        // schema_evolution.mode = auto-additive (the default): the schema is inferred from the
        // first records (id, ts, n, level); later records bring a string, a double, a nested
        // object and an array; one brings a wrong type for n (dead-lettered, not a new column).
        let fixture = try await K2IFixture.make("k2i_evolve", extra: "[schema_evolution]\nschema_update_min_interval_seconds = 0")
        try fixture.produce(0..<20)
        let running = RunningEngine(try await fixture.engine())
        #expect(await running.wait(60) { running.engine.metrics.value("k2i_rows_committed_total") >= 20 })
        for i in 20..<40 {
            let value = #"{"id":"e\#(i)","ts":"2026-11-22T11:00:\#(String(format: "%02d", i))Z","n":\#(i),"level":"info","region":"eu-\#(i)","score":\#(i).5,"geo":{"lat":\#(i).25},"tags":["a","b"]}"#
            try fixture.producer.send(topic: "events", key: Array("e\(i)".utf8), value: Array(value.utf8))
        }
        try fixture.producer.send(topic: "events", key: nil, value: Array(#"{"id":"bad","n":"many","other":1}"#.utf8))
        try fixture.producer.flush()
        #expect(await running.wait(60) { running.engine.metrics.value("k2i_rows_committed_total") >= 40 && running.engine.metrics.rejectedTotal() == 1 },
                "committed \(running.engine.metrics.value("k2i_rows_committed_total")), rejected \(running.engine.metrics.rejectedTotal())")
        #expect(running.engine.metrics.value("k2i_schema_updates_total") >= 1)
        try await running.stop()
        let printed = try PythonScript.run("""
            import sys, json
            from pyiceberg.catalog.sql import SqlCatalog
            t = SqlCatalog("kyma", uri=sys.argv[1], warehouse="file://" + sys.argv[2]).load_table("k2i.events")
            schema = {f.name: str(f.field_type) for f in t.schema().fields}
            rows = {r["id"]: r for r in t.scan().to_arrow().to_pylist()}
            print(json.dumps({"schema": schema, "e3": rows.get("e3"), "e25": rows.get("e25"), "rows": len(rows)}, default=str))
            """, [fixture.databaseURL.replacingOccurrences(of: "postgres://", with: "postgresql+psycopg2://"), fixture.root + "/warehouse"])
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [String: Any], "\(printed)")
        let schema = answer["schema"] as? [String: String] ?? [:]
        #expect(schema["region"] == "string" && schema["score"] == "double" && schema["geo.lat"] == "double" && schema["tags"] == "string", "\(schema)")
        #expect(schema["other"] == nil, "fields of a rejected record are not added: \(schema)")
        #expect(answer["rows"] as? Int == 40)
        let early = answer["e3"] as? [String: Any] ?? [:], late = answer["e25"] as? [String: Any] ?? [:]
        #expect(early["region"] is NSNull && early["score"] is NSNull && (early["n"] as? Int) == 3, "\(early)")
        #expect(late["region"] as? String == "eu-25" && late["score"] as? Double == 25.5 && late["geo.lat"] as? Double == 25.25 && late["tags"] as? String == #"["a","b"]"#,
                "\(late)")
    }

    @Test func aBreakingChangeStopsK2IWhenToldTo() async throws {
        let fixture = try await K2IFixture.make("k2i_breaking", extra: "[schema_evolution]\non_breaking_change = \"fail\"")
        try fixture.produce(0..<10)
        try fixture.producer.send(topic: "events", key: nil, value: Array(#"{"id":"bad","n":"many"}"#.utf8))
        try fixture.producer.flush()
        let running = RunningEngine(try await fixture.engine())
        #expect(await running.wait(60) { running.error != nil }, "k2i kept running")
        guard case .runtime(let reason)? = running.error else {
            Issue.record("expected a runtime error, got \(String(describing: running.error))")
            return
        }
        #expect(reason.contains("breaking schema change") && reason.contains("'n' should be int64"), "\(reason)")
        #expect(running.error?.exitCode == 10)
        #expect(running.engine.metrics.value("k2i_rows_committed_total") < 11, "nothing past the bad record is committed")
    }

    @Test func rawRecordsKeepTheOriginalK2ILayout() async throws {
        // kafka.format.type = raw, the original k2i's default: the record's key and value bytes
        // (which need not be JSON), topic, partition, offset and Kafka timestamp; pages written
        // with snappy, the original's default codec. pyiceberg reads back exactly what was sent.
        let fixture = try await K2IFixture.make("k2i_raw", format: "[kafka.format]\ntype = \"raw\"\nkey_field = \"key\"", iceberg: "compression = \"snappy\"")
        var sent: [String: (key: String, value: [UInt8])] = [:]
        for i in 0..<300 {
            let value: [UInt8] = i % 3 == 0 ? Array("plain text line \(i)".utf8) : [0, 0xFF, UInt8(i % 256), 0x80] + Array(repeating: UInt8(i % 7), count: i % 50)
            try fixture.producer.send(topic: "events", key: Array("k\(i)".utf8), value: value)
            sent["k\(i)"] = ("k\(i)", value)
        }
        try fixture.producer.send(topic: "events", key: nil, value: Array("no key".utf8))  // key_field = "key": rejected
        try fixture.producer.flush()
        let before = Int64(Date().timeIntervalSince1970 * 1000) - 60_000
        let running = RunningEngine(try await fixture.engine())
        #expect(await running.wait(60) { running.engine.metrics.value("k2i_rows_committed_total") >= 300 && running.engine.metrics.rejectedTotal() == 1 })
        // The hot buffer's key index serves the record key. (A miss is a 404 whose text names
        // the key too: the status is what tells them apart.)
        try fixture.producer.send(topic: "events", key: Array("late".utf8), value: Array("fresh".utf8))
        try fixture.producer.flush()
        #expect(await running.wait(10) { running.engine.handle(method: "GET", path: "/lookup", query: ["key": "late"]).status == 200 || running.engine.metrics.value("k2i_rows_committed_total") >= 301 })
        try await running.stop()
        let printed = try PythonScript.run("""
            import sys, json
            import pyarrow.parquet as pq
            from pyiceberg.catalog.sql import SqlCatalog
            t = SqlCatalog("kyma", uri=sys.argv[1], warehouse="file://" + sys.argv[2]).load_table("k2i.events")
            schema = {f.name: str(f.field_type) for f in t.schema().fields}
            rows = t.scan().to_arrow().to_pylist()
            codecs = set()
            for task in t.scan().plan_files():
                md = pq.ParquetFile(task.file.file_path.replace("file://", "")).metadata
                codecs |= {md.row_group(g).column(c).compression for g in range(md.num_row_groups) for c in range(md.num_columns)}
            print(json.dumps({"schema": schema, "codecs": sorted(codecs),
                              "rows": [{"key": r["key"].decode(), "value": r["value"].hex(), "topic": r["topic"], "partition": r["partition"],
                                        "offset": r["offset"], "timestamp": r["timestamp"]} for r in rows]}))
            """, [fixture.databaseURL.replacingOccurrences(of: "postgres://", with: "postgresql+psycopg2://"), fixture.root + "/warehouse"])
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [String: Any], "\(printed)")
        #expect(answer["schema"] as? [String: String] == ["key": "binary", "value": "binary", "topic": "string", "partition": "long", "offset": "long", "timestamp": "long"])
        #expect(answer["codecs"] as? [String] == ["SNAPPY"])
        let rows = answer["rows"] as? [[String: Any]] ?? []
        #expect(rows.count == 301)
        var seen = Set<String>()
        for row in rows {
            let key = row["key"] as? String ?? ""
            guard let expected = sent[key] ?? (key == "late" ? (key, Array("fresh".utf8)) : nil) else {
                Issue.record("unexpected key \(key)")
                continue
            }
            #expect(row["value"] as? String == expected.value.map { String(format: "%02x", $0) }.joined(), "\(key)")
            #expect(row["topic"] as? String == "events")
            #expect((0..<3).contains(row["partition"] as? Int ?? -1))
            #expect((row["timestamp"] as? Int).map { Int64($0) > before } == true, "a Kafka timestamp in milliseconds: \(row)")
            seen.insert("\(row["partition"] ?? -1):\(row["offset"] ?? -1)")
        }
        #expect(seen.count == 301, "each (partition, offset) once")
    }

    @Test func aBreakingChangePausesConsumptionUntilARestart() async throws {
        // on_breaking_change = pause (the original k2i's default). All records share a key, so one
        // partition holds them in order: 10 good, one with a string where n is a long, 10 good.
        let fixture = try await K2IFixture.make("k2i_pause", extra: "[schema_evolution]\non_breaking_change = \"pause\"")
        func send(_ i: Int, n: String) throws {
            let value = #"{"id":"e\#(i)","ts":"2026-11-22T10:00:\#(String(format: "%02d", i))Z","n":\#(n),"level":"info"}"#
            try fixture.producer.send(topic: "events", key: Array("same".utf8), value: Array(value.utf8))
        }
        for i in 0..<10 { try send(i, n: String(i)) }
        try send(10, n: "\"many\"")
        for i in 11..<21 { try send(i, n: String(i)) }
        try fixture.producer.flush()
        let running = RunningEngine(try await fixture.engine())
        #expect(await running.wait(60) { running.engine.metrics.value("k2i_breaking_change_paused") == 1 && running.engine.metrics.value("k2i_rows_committed_total") >= 10 })
        // The consuming loop keeps running while paused: wait until it has reported two flush
        // intervals (1 s each) past the pause, by its own status clock, before judging.
        let pausedAt = running.statusMillis
        #expect(await running.wait(60) { running.statusMillis >= pausedAt + 2_000 })
        #expect(running.error == nil, "the process stays up")
        #expect(running.engine.metrics.value("k2i_rows_committed_total") == 10, "the records before it, and none after")
        #expect(running.engine.metrics.rejectedTotal() == 0, "the record is held, not dead-lettered")
        let ready = await running.get("/readyz", [:])
        #expect(ready.status == 503 && ready.body.contains("breaking schema change") && ready.body.contains("offset 10"), "\(ready.body)")
        #expect(running.engine.statusJSON.contains("\"state\":\"paused\""))
        try await running.stop()
        var judged = try fixture.judge()
        #expect(judged.rows == 10 && judged.offsets.values.reduce(0, +) == 10, "the table's offsets stop at the record: \(judged)")
        // The operator decides to dead-letter such records and restarts: k2i starts at the record.
        let fixed = K2IFixture(cluster: fixture.cluster, producer: fixture.producer, databaseURL: fixture.databaseURL, root: fixture.root,
                               configText: fixture.configText.replacingOccurrences(of: "on_breaking_change = \"pause\"", with: "on_breaking_change = \"skip-message\""))
        let restarted = RunningEngine(try await fixed.engine())
        #expect(await restarted.wait(60) { restarted.engine.metrics.value("k2i_rows_committed_total") >= 10 && restarted.engine.metrics.rejectedTotal() == 1 })
        try await restarted.stop()
        judged = try fixture.judge()
        #expect(judged.rows == 20 && judged.distinct == 20 && judged.offsets.values.reduce(0, +) == 21, "\(judged)")
    }

    @Test func queriesReadOnlyTheCommittedFilesTheirFilterCanMatch() async throws {
        // Three rounds of 100 records, each committed before the next is produced: the data files
        // of different rounds have disjoint ranges of n and ts (a round may be cut into two files
        // by the flush interval).
        let fixture = try await K2IFixture.make("k2i_prune")
        let engine = try await fixture.engine()
        engine.queryFrontends = FrontendRegistry([KQLFrontend()])
        let running = RunningEngine(engine)
        var filesOfRound: [Int] = []
        for round in 0..<3 {
            try fixture.produce(round * 100..<(round + 1) * 100)
            #expect(await running.wait(60) { running.engine.metrics.value("k2i_rows_committed_total") >= Double((round + 1) * 100) })
            let total = try await running.engine.tables.dataFiles(running.engine.identifier).count
            filesOfRound.append(total - filesOfRound.reduce(0, +))
        }
        let fileCount = filesOfRound.reduce(0, +)
        func query(_ kql: String, on engine: K2IEngine) async -> (status: Int, body: String, scanned: Int, pruned: Int) {
            let before = (engine.metrics.value("k2i_query_files_scanned_total"), engine.metrics.value("k2i_query_files_pruned_total"))
            let reply = await RunningEngine.get(engine, "/query", ["kql": kql])
            return (reply.status, reply.body, Int(engine.metrics.value("k2i_query_files_scanned_total") - before.0),
                    Int(engine.metrics.value("k2i_query_files_pruned_total") - before.1))
        }
        let one = await query("events | where n == 150 | project id", on: running.engine)
        #expect(one.status == 200 && one.body == "{\"id\":\"e150\"}\n", "\(one)")
        #expect(one.scanned + one.pruned == fileCount && one.scanned <= filesOfRound[1] && one.pruned >= filesOfRound[0] + filesOfRound[2],
                "only the second round's files can hold n = 150: \(one), files per round \(filesOfRound)")
        // Record i's ts is 10:MM:SS with MM = i / 60: the first round's rows end at 10:01:39.
        let late = await query("events | where ts >= datetime(2026-11-22T10:02:00Z) | summarize c = count()", on: running.engine)
        #expect(late.body == "{\"c\":180}\n" && late.pruned >= filesOfRound[0], "\(late), files per round \(filesOfRound)")
        // /lookup searches the hot buffer; asked to, the committed files too.
        #expect(await running.get("/lookup", ["key": "e150"]).status == 404, "committed, so no longer buffered")
        let committedRow = await running.get("/lookup", ["key": "e150", "committed": "true"])
        #expect(committedRow.status == 200 && committedRow.body.contains("\"n\":150"), "\(committedRow.body)")
        let missing = await running.get("/lookup", ["key": "e100000", "committed": "true"])
        #expect(missing.status == 404 && missing.body.contains("committed table"), "\(missing.body)")
        let all = await query("events | summarize c = count(), d = dcount(id)", on: running.engine)
        #expect(all.body == "{\"c\":300,\"d\":300}\n" && all.scanned == fileCount && all.pruned == 0, "\(all)")
        try await running.stop()
        // A budget under the whole table's Parquet bytes but over one round's: a narrow query
        // runs, the whole table is refused.
        let files: [IcebergDataFile] = try await running.engine.tables.dataFiles(running.engine.identifier)
        let budget = Double(files.reduce(0) { $0 + $1.fileSizeInBytes }) * 0.9 / 1_048_576
        let limited = K2IFixture(cluster: fixture.cluster, producer: fixture.producer, databaseURL: fixture.databaseURL, root: fixture.root,
                                 configText: fixture.configText + "\n[monitoring]\nquery_max_scan_mb = \(budget)")
        let small = try await limited.engine()
        small.queryFrontends = FrontendRegistry([KQLFrontend()])
        #expect(await query("events | where n == 250 | project id", on: small).body == "{\"id\":\"e250\"}\n")
        let refused = await query("events | summarize c = count()", on: small)
        #expect(refused.status == 413 && refused.body.contains("monitoring.query_max_scan_mb"), "\(refused)")
    }

    @Test func tableResetStartsOverWhenTheTopicDid() async throws {
        let fixture = try await K2IFixture.make("k2i_reset")
        try fixture.produce(0..<100)
        var running = RunningEngine(try await fixture.engine())
        #expect(await running.wait(60) { running.engine.metrics.value("k2i_rows_committed_total") >= 100 })
        try await running.stop()
        // The topic starts over (a new cluster): its offsets begin at 0 again.
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("events", partitions: 3)
        let moved = K2IFixture(cluster: cluster, producer: try KafkaProducer(["bootstrap.servers": cluster.bootstrapServers, "linger.ms": "1"]),
                               databaseURL: fixture.databaseURL, root: fixture.root,
                               configText: fixture.configText.replacingOccurrences(of: fixture.cluster.bootstrapServers, with: cluster.bootstrapServers))
        try moved.produce(100..<150)
        // Without a reset the new records lie below the offsets the table records: taken for committed.
        running = RunningEngine(try await moved.engine())
        // Judged once the consumer has fetched every partition to its end (the high watermarks
        // it reports add up to the 50 records) and the loop has run two flush intervals more.
        #expect(await running.wait(60) { running.highWatermarks == 50 })
        let fetchedAt = running.statusMillis
        #expect(await running.wait(60) { running.statusMillis >= fetchedAt + 2_000 })
        #expect(running.engine.metrics.value("k2i_rows_committed_total") == 0)
        try await running.stop()
        // --keep-data: the rows stay, the offsets go, and the new records land.
        let kept = try await moved.engine().resetTable(keepData: true)
        #expect(kept.first?.contains("records no Kafka offsets") == true, "\(kept)")
        var judged = try moved.judge()
        #expect(judged.rows == 100 && judged.offsets.isEmpty, "\(judged)")
        running = RunningEngine(try await moved.engine())
        #expect(await running.wait(60) { running.engine.metrics.value("k2i_rows_committed_total") >= 50 })
        try await running.stop()
        judged = try moved.judge()
        #expect(judged.rows == 150 && judged.distinct == 150 && judged.offsets.values.reduce(0, +) == 50, "\(judged)")
        // Without --keep-data the table is dropped; the next ingest makes a new one from the topic.
        let dropped = try await moved.engine().resetTable(keepData: false)
        #expect(dropped.first?.contains("dropped from the catalog") == true, "\(dropped)")
        #expect(throws: (any Error).self) { _ = try moved.judge() }
        running = RunningEngine(try await moved.engine())
        #expect(await running.wait(60) { running.engine.metrics.value("k2i_rows_committed_total") >= 50 })
        try await running.stop()
        judged = try moved.judge()
        #expect(judged.rows == 50 && judged.distinct == 50, "\(judged)")
    }
}
