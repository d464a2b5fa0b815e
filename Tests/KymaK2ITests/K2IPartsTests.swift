// k2i's parts on their own: configuration (unknown keys, types, environment overrides, secrets),
// the transaction log (torn tails), the circuit breaker, the hot buffer, record decoding.

import Foundation
import KymaCore
@testable import KymaK2I
import KymaKafka
import KymaTestSupport
import Testing

let minimalConfig = """
[kafka]
bootstrap_servers = "127.0.0.1:9092"
topic = "events"
consumer_group = "g"
[iceberg]
warehouse_path = "/tmp/w"
database_name = "k2i"
table_name = "events"
"""

@Suite("k2i parts")
struct K2IPartsTests {
    @Test func theExampleConfigurationIsValid() throws {
        let path = (TestServices.packageRoot() ?? ".") + "/examples/k2i/config.toml"
        let config = try K2IConfig.load(path: path, environment: [:])
        #expect(config.string("kafka.topic") == "events")
        #expect(config.string("iceberg.database_name") == "k2i")
        #expect(Set(config.schema.map(\.name)) == ["id", "ts", "level", "latency_ms"])
        #expect(config.partitionSpec == [K2IConfig.PartitionField(sourceField: "ts", transform: "day")])
        #expect(config.int("buffer.flush_batch_size") == 10000)
        // Secrets print as REDACTED.
        #expect(config.rendered.first { $0.key == "iceberg.sql_catalog.url" }?.value == "REDACTED")
        #expect(config.secret("iceberg.sql_catalog.url")?.value.hasPrefix("postgres://") == true)
    }

    @Test func defaultsEnvironmentAndSecretFiles() throws {
        let secretPath = TestServices.makeTemporaryDirectory("k2i-secret") + "/pw"
        try "s3cr3t\n".write(toFile: secretPath, atomically: true, encoding: .utf8)
        let config = try K2IConfig.parse(minimalConfig + "\n[kafka.security]\nsasl_password = { file = \"\(secretPath)\" }\n",
                                         environment: ["K2I_KAFKA_TOPIC": "other", "K2I_BUFFER_FLUSH_BATCH_SIZE": "7"])
        #expect(config.string("kafka.topic") == "other")
        #expect(config.int("buffer.flush_batch_size") == 7)
        #expect(config.int("kafka.batch_size") == 1000)
        #expect(config.secret("kafka.security.sasl_password")?.value == "s3cr3t")
        #expect("\(config.secret("kafka.security.sasl_password")!)" == "REDACTED")
        #expect(config.consumerProperties["sasl.password"] == "s3cr3t")
        #expect(config.consumerProperties["group.id"] == "g")
    }

    @Test(arguments: [
        ("[kafka]\nbootstrap_server = \"x\"", "unknown key 'kafka.bootstrap_server'"),
        ("[kafkaa]\nx = 1", "unknown key 'kafkaa'"),
        ("[buffer]\nflush_batch_size = \"many\"", "key 'buffer.flush_batch_size': 'many' is not an integer"),
        ("[buffer]\nflush_batch_size = 0", "key 'buffer.flush_batch_size': must be positive"),
        ("[kafka]\nauto_offset_reset = \"middle\"", "key 'kafka.auto_offset_reset': 'middle' is not one of earliest, latest"),
        ("[iceberg]\ncatalog_type = \"hive\"", "out of scope"),
        ("[iceberg]\ncompression = \"brotli\"", "key 'iceberg.compression': 'brotli' is not one of"),
        ("[kafka.format]\ntype = \"protobuf\"", "key 'kafka.format.type': 'protobuf' (schema registry) is not decoded"),
        ("[kafka.format]\ntype = \"raw\"\nkey_field = \"id\"", "key 'kafka.format.key_field': with type = raw the only key field is the record key"),
        ("[kafka.format]\ntype = \"raw\"\n[kafka.format.schema]\nid = \"string\"", "key 'kafka.format.schema': raw records have fixed columns"),
        ("[iceberg.sql_catalog]\ntype = \"sqlite\"", "key 'iceberg.sql_catalog.type': 'sqlite' would be an embedded catalog"),
        ("[rpc]\nenabled = true", "key 'rpc.enabled': the Unix-socket scan service is not served"),
        ("[buffer]\nmemory_alignment_bytes = 48", "key 'buffer.memory_alignment_bytes': must be a power of two"),
        ("[buffer]\nlow_watermark_percent = 90", "must be below high_watermark_percent"),
        ("[kafka.format.schema]\nid = \"decimal\"", "key 'kafka.format.schema.id'"),
        ("[[iceberg.partition_spec]]\nsource_field = \"ts\"\ntransform = \"week\"", "transform 'week'"),
        ("[iceberg.object_store]\ntype = \"s3\"", "key 'iceberg.object_store.type': 's3' does not match warehouse_path"),
        ("[iceberg.object_store]\ntype = \"gcs\"", "gcs is not supported"),
        ("[iceberg.object_store]\nroot = \"/var/lib\"", "key 'iceberg.object_store.root': '/var/lib' does not contain warehouse_path"),
        ("[kafka.security]\nprotocol = \"SASL_PLAIN\"", "key 'kafka.security.protocol': 'sasl_plain' is not one of"),
        ("[schema_evolution]\nmode = \"sometimes\"", "key 'schema_evolution.mode': 'sometimes' is not one of auto-additive, manual, permissive"),
    ])
    func badConfigurationsNameTheKey(_ extra: String, _ expected: String) {
        // Later sections override the minimal ones (TOML forbids redefinition, so merge by text).
        let header = String(extra.split(separator: "\n")[0]) + "\n"
        let text = minimalConfig.contains(header) ? minimalConfig.replacingOccurrences(of: header, with: extra + "\n") : minimalConfig + "\n" + extra
        do {
            _ = try K2IConfig.parse(text)
            Issue.record("accepted: \(extra)")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    /// A configuration as the original k2i documents it (every section and key of its
    /// config.rs that is not a catalog setting), with only the catalog URL pointed at PostgreSQL.
    @Test func anOriginalK2IConfigurationIsAccepted() throws {
        let userFile = TestServices.makeTemporaryDirectory("k2i-user") + "/user"
        try "ingest\n".write(toFile: userFile, atomically: true, encoding: .utf8)
        let original = """
        [kafka]
        bootstrap_servers = ["127.0.0.1:9092"]
        topic = "events"
        consumer_group = "k2i-ingestion"
        batch_size = 1000
        batch_timeout_ms = 5000
        session_timeout_ms = 30000
        heartbeat_interval_ms = 3000
        max_poll_interval_ms = 300000
        auto_offset_reset = "earliest"
        [kafka.format]
        type = "raw"
        [kafka.security]
        protocol = "SASL_SSL"
        sasl_mechanism = "SCRAM-SHA-512"
        sasl_username = { file = "\(userFile)" }
        sasl_password = "pw"
        [schema_evolution]
        mode = "permissive"
        on_breaking_change = "pause"
        schema_update_min_interval_seconds = 60
        [iceberg]
        catalog_type = "sql"
        warehouse_path = "/tmp/warehouse"
        database_name = "raw"
        table_name = "events"
        target_file_size_mb = 512
        compression = "snappy"
        [[iceberg.partition_spec]]
        source_field = "offset"
        transform = "identity"
        [[iceberg.partition_spec]]
        source_field = "key"
        transform = { bucket = { num_buckets = 16 } }
        [[iceberg.partition_spec]]
        source_field = "topic"
        transform = { truncate = { width = 4 } }
        [iceberg.object_store]
        type = "filesystem"
        root = "/tmp"
        [iceberg.sql_catalog]
        type = "postgres"
        url = "postgres://postgres@127.0.0.1:5432/k2i"
        catalog_name = "k2i"
        [buffer]
        ttl_seconds = 60
        max_size_mb = 500
        flush_interval_seconds = 30
        flush_batch_size = 10000
        memory_alignment_bytes = 64
        [transaction_log]
        log_dir = "./transaction_logs"
        checkpoint_interval_entries = 10000
        checkpoint_interval_seconds = 300
        max_log_files = 10
        [maintenance]
        compaction_enabled = true
        compaction_interval_seconds = 3600
        compaction_threshold_mb = 100
        compaction_target_mb = 512
        snapshot_expiration_enabled = true
        snapshot_retention_days = 7
        orphan_cleanup_enabled = true
        orphan_retention_days = 3
        statistics_enabled = true
        statistics_interval_seconds = 3600
        [monitoring]
        metrics_port = 9090
        health_port = 8080
        log_level = "info"
        log_format = "json"
        [rpc]
        enabled = false
        socket_path = "./run/k2i.sock"
        read_timeout_ms = 1000
        max_concurrent_scans = 64
        scan_ttl_seconds = 300
        max_frame_bytes = 67108864
        """
        let config = try K2IConfig.parse(original)
        #expect(config.string("kafka.format.type") == "raw")
        #expect(config.string("iceberg.compression") == "snappy")
        #expect(config.string("kafka.bootstrap_servers") == "127.0.0.1:9092")
        #expect(config.string("schema_evolution.on_breaking_change") == "pause")
        #expect(config.consumerProperties["security.protocol"] == "sasl_ssl")
        #expect(config.consumerProperties["sasl.username"] == "ingest")
        #expect(config.partitionSpec.map(\.transform) == ["identity", "bucket[16]", "truncate[4]"])
        // Without a type: raw as in the original, unless the section names JSON fields.
        #expect(try K2IConfig.parse(minimalConfig).string("kafka.format.type") == "raw")
        #expect(try K2IConfig.parse(minimalConfig + "\n[kafka.format]\nkey_field = \"id\"").string("kafka.format.type") == "json")
        #expect(try K2IConfig.parse(minimalConfig + "\n[kafka.format.schema]\nid = \"string\"").string("kafka.format.type") == "json")
        #expect(try K2IConfig.parse(minimalConfig + "\n[kafka.format]\ninfer_from_records = 50").string("kafka.format.type") == "json")
        #expect(try K2IConfig.parse(minimalConfig + "\n[kafka.format]\nmax_record_bytes = 5000").string("kafka.format.type") == "raw")
        #expect(try K2IConfig.parse(minimalConfig, environment: ["K2I_KAFKA_FORMAT_TYPE": "json"]).string("kafka.format.type") == "json")
    }

    /// `[kafka.security]` reaches librdkafka: the mock cluster speaks neither TLS nor SASL, so
    /// what is checked is librdkafka's own verdict on the settings it was given.
    @Test func securitySettingsReachLibrdkafka() throws {
        let missingCA = try K2IConfig.parse(minimalConfig + "\n[kafka.security]\nprotocol = \"SSL\"\nssl_ca_location = \"/nonexistent/ca.pem\"")
        do {
            _ = try KafkaConsumer(missingCA.consumerProperties)
            Issue.record("librdkafka accepted a CA file that does not exist")
        } catch {
            #expect("\(error)".contains("ssl.ca.location") || "\(error)".contains("/nonexistent/ca.pem"), "\(error)")
        }
        let sasl = try K2IConfig.parse(minimalConfig + "\n[kafka.security]\nprotocol = \"SASL_PLAINTEXT\"\nsasl_mechanism = \"SCRAM-SHA-256\"\nsasl_username = \"u\"\nsasl_password = \"p\"")
        #expect(sasl.consumerProperties["security.protocol"] == "sasl_plaintext" && sasl.consumerProperties["sasl.mechanisms"] == "SCRAM-SHA-256")
        _ = try KafkaConsumer(sasl.consumerProperties)  // librdkafka takes them (it would refuse an unknown mechanism)
        let unknownMechanism = try K2IConfig.parse(minimalConfig + "\n[kafka.security]\nprotocol = \"SASL_PLAINTEXT\"\nsasl_mechanism = \"MAGIC\"")
        #expect(throws: KafkaError.self, "librdkafka refuses an unknown SASL mechanism") { _ = try KafkaConsumer(unknownMechanism.consumerProperties) }
    }

    @Test func rawRecordsDecodeToTheOriginalColumnsAndTheKeyIndexFindsThem() throws {
        var decoder = RecordDecoder(fields: RecordDecoder.rawFields, keyField: "key", timestampField: nil, maxBytes: 100)
        decoder.format = .raw
        let records = [
            KafkaMessage(topic: "t", partition: 2, offset: 40, key: Array("a".utf8), value: [0, 1, 2], timestampMillis: 1_700_000_000_123),
            KafkaMessage(topic: "t", partition: 2, offset: 41, key: nil, value: [3], timestampMillis: nil),
            KafkaMessage(topic: "t", partition: 1, offset: 7, key: Array("b".utf8), value: Array(repeating: 9, count: 101), timestampMillis: nil),
            KafkaMessage(topic: "t", partition: 0, offset: 9, key: Array("c".utf8), value: Array("{not json".utf8), timestampMillis: nil),
        ]
        let decoded = decoder.decode(records: records)
        #expect(decoded.rejections == [nil, .missingKey("key"), .oversized(101), nil])
        #expect(decoded.rowCount == 2)
        let row0 = decoded.columns.map { $0.value(at: 0) }, row1 = decoded.columns.map { $0.value(at: 1) }
        #expect(row0 == [.binary(Array("a".utf8)), .binary([0, 1, 2]), .string("t"), .int64(2), .int64(40), .int64(1_700_000_000_123)])
        #expect(row1 == [.binary(Array("c".utf8)), .binary(Array("{not json".utf8)), .string("t"), .int64(0), .int64(9), .null])
        let buffer = HotBuffer(fields: RecordDecoder.rawFields, keyField: "key")
        buffer.append(decoded, records: records, nowMillis: 0)
        #expect(buffer.lookup("c")?.first { $0.0 == "offset" }?.1 == .int64(9))
        #expect(buffer.lookup("b") == nil, "the oversized record is not a row")
        // A table an earlier tool made with other column types: values convert, unknown columns read null.
        var other = RecordDecoder(fields: [("key", .string), ("timestamp", .timestamp), ("offset", .string), ("extra", .float64)], keyField: nil, timestampField: nil, maxBytes: 100)
        other.format = .raw
        let converted = other.decode(records: Array(records.prefix(1)))
        #expect(converted.columns.map { $0.value(at: 0) } == [.string("a"), .timestamp(1_700_000_000_123_000_000), .string("40"), .null])
    }

    @Test func theDocsListEveryKey() throws {
        let docs = try String(contentsOfFile: (TestServices.packageRoot() ?? ".") + "/docs/k2i.md", encoding: .utf8)
        let missing = K2IConfig.allKeys.filter { !docs.contains("`\($0)`") }
        #expect(missing.isEmpty, "docs/k2i.md lacks \(missing)")
        #expect(K2IConfig.allKeys.count >= 60)
    }

    @Test func missingRequiredKeysAndSyntaxErrors() {
        #expect(throws: K2IConfigError.self) { _ = try K2IConfig.parse("[kafka]\ntopic = \"t\"") }
        do { _ = try K2IConfig.parse("[kafka\n") } catch { #expect(error.description.contains("line 1")) }
    }

    @Test func transactionLogRecoversAndCutsATornTail() throws {
        let directory = TestServices.makeTemporaryDirectory("k2i-txlog")
        let log = try TransactionLog(directory: directory, name: "t")
        var records: [KafkaMessage] = []
        for i in 0..<100 {
            let key: [UInt8]? = i % 2 == 0 ? Array("k\(i)".utf8) : nil
            let stamp: Int64? = i % 5 == 0 ? nil : Int64(i) * 1000
            records.append(KafkaMessage(topic: "events", partition: Int32(i % 3), offset: Int64(i), key: key, value: Array("{\"i\":\(i)}".utf8), timestampMillis: stamp))
        }
        try log.append(Array(records.prefix(60)))
        try log.append(Array(records.suffix(40)))
        try log.waitForWrites()  // appends are written on the log's queue
        var recovered = try TransactionLog(directory: directory, name: "t").recover()
        #expect(recovered.count == 100)
        let offsets: [Int64] = recovered.map { $0.offset }, expectedOffsets: [Int64] = records.map { $0.offset }
        let values: [[UInt8]] = recovered.map { Array($0.value) }, expectedValues: [[UInt8]] = records.map { Array($0.value) }
        let keys: [[UInt8]?] = recovered.map { $0.key.map { Array($0) } }, expectedKeys: [[UInt8]?] = records.map { $0.key.map { Array($0) } }
        #expect(offsets == expectedOffsets)
        #expect(values == expectedValues)
        #expect(keys == expectedKeys)
        // A torn write: the file ends in the middle of the last record.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: log.path)))
        bytes.removeLast(5)
        try Data(bytes).write(to: URL(fileURLWithPath: log.path))
        recovered = try TransactionLog(directory: directory, name: "t").recover()
        #expect(recovered.count == 99)
        // A damaged record in the middle: everything from it on is dropped, never misread.
        bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: log.path)))
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: log.path))
        recovered = try TransactionLog(directory: directory, name: "t").recover()
        #expect(recovered.count < 99 && recovered.count > 20)
        #expect(zip(recovered, records).allSatisfy { $0.value == $1.value })
        // After the cut, appends continue a valid log; truncation empties it.
        let reopened = try TransactionLog(directory: directory, name: "t")
        let kept = try reopened.recover().count
        try reopened.append([KafkaMessage(topic: "events", partition: 0, offset: 1000, key: nil, value: Array("{}".utf8), timestampMillis: nil)])
        try reopened.waitForWrites()
        #expect(try TransactionLog(directory: directory, name: "t").recover().count == kept + 1)
        try reopened.truncate()
        #expect(try TransactionLog(directory: directory, name: "t").recover().isEmpty)
    }

    @Test func aFailedLogWriteIsReportedByTheNextCall() throws {
        // Appends are written on the log's own queue; a write that fails there (here: the log
        // is /dev/full, every write ENOSPC) must still stop the engine, at its next call.
        let directory = TestServices.makeTemporaryDirectory("k2i-txlog-full")
        try FileManager.default.createSymbolicLink(atPath: directory + "/t.k2ilog", withDestinationPath: "/dev/full")
        let log = try TransactionLog(directory: directory, name: "t")
        let record = KafkaMessage(topic: "e", partition: 0, offset: 0, key: nil, value: Array("{}".utf8), timestampMillis: nil)
        try log.append([record])  // queued, not yet written
        do {
            try log.waitForWrites()
            Issue.record("a write to /dev/full was not reported")
        } catch {
            #expect(error.description.contains("t.k2ilog"), "\(error)")
        }
        #expect(throws: K2IError.self) { try log.append([record]) }
    }

    @Test func transactionLogSealsWhatACommitWrites() throws {
        let directory = TestServices.makeTemporaryDirectory("k2i-txlog-seal")
        let log = try TransactionLog(directory: directory, name: "t")
        let records = (0..<30).map { KafkaMessage(topic: "e", partition: 0, offset: Int64($0), key: nil, value: Array("{\"i\":\($0)}".utf8), timestampMillis: nil) }
        let offsets = { (r: [KafkaMessage]) in r.map(\.offset) }
        try log.append(Array(records[0..<10]))
        try log.seal()  // a commit of 0..<10 starts
        try log.append(Array(records[10..<20]))
        try log.waitForWrites()
        // A crash now: both the sealed and the later records come back, in order.
        #expect(offsets(try TransactionLog(directory: directory, name: "t").recover()) == Array(0..<20))
        // The commit failed and the next one takes everything: sealing again keeps the order.
        try log.seal()
        try log.append(Array(records[20..<30]))
        try log.waitForWrites()
        #expect(offsets(try TransactionLog(directory: directory, name: "t").recover()) == Array(0..<30))
        // A crash while sealing copied the later records onto the sealed ones (both files hold
        // them): each comes back once.
        let sealedPath = log.path + ".sealed"
        let later = try Data(contentsOf: URL(fileURLWithPath: log.path))
        let sealedBefore = try Data(contentsOf: URL(fileURLWithPath: sealedPath))
        try (sealedBefore + later).write(to: URL(fileURLWithPath: sealedPath))
        #expect(offsets(try TransactionLog(directory: directory, name: "t").recover()) == Array(0..<30))
        // Damage inside the sealed records: the log ends there; the later file is not read past
        // the gap (that would skip records), it is cut.
        var damaged = [UInt8](sealedBefore)
        damaged[damaged.count / 2] ^= 0x40
        try Data(damaged).write(to: URL(fileURLWithPath: sealedPath))
        let prefix = offsets(try TransactionLog(directory: directory, name: "t").recover())
        #expect(!prefix.isEmpty && prefix.count < 20 && prefix == Array(0..<Int64(prefix.count)))
        #expect(try Data(contentsOf: URL(fileURLWithPath: log.path)).isEmpty)
        // The commit landed: the sealed records go.
        let reopened = try TransactionLog(directory: directory, name: "t")
        try reopened.append(Array(records[20..<30]))
        reopened.dropSealed()
        try reopened.waitForWrites()
        #expect(offsets(try TransactionLog(directory: directory, name: "t").recover()) == Array(20..<30))
    }

    @Test func circuitBreakerOpensCoolsDownAndCloses() {
        var breaker = CircuitBreaker(failureThreshold: 3, cooldownMillis: 1000)
        var allowed = breaker.allow(nowMillis: 0)
        #expect(allowed)
        breaker.recordFailure(nowMillis: 0)
        breaker.recordFailure(nowMillis: 10)
        #expect(breaker.state == .closed)
        breaker.recordFailure(nowMillis: 20)
        #expect(breaker.state == .open && breaker.trips == 1)
        allowed = breaker.allow(nowMillis: 500)
        #expect(!allowed)
        allowed = breaker.allow(nowMillis: 1020)
        #expect(allowed && breaker.state == .halfOpen)
        breaker.recordFailure(nowMillis: 1030)  // the trial failed: open again
        allowed = breaker.allow(nowMillis: 1500)
        #expect(breaker.state == .open && breaker.trips == 2 && !allowed)
        allowed = breaker.allow(nowMillis: 2100)
        #expect(allowed)
        breaker.recordSuccess()
        #expect(breaker.state == .closed && breaker.consecutiveFailures == 0)
    }

    @Test func keyIndexAgreesWithADictionary() {
        // Random inserts (with repeats), growth, and dropping rows below a watermark, checked
        // against a Swift Dictionary. Hashes are drawn from a small range plus multiples of the
        // table size so that probes collide and wrap.
        var generator = SystemRandomNumberGenerator()
        var index = KeyIndex(capacity: 8)
        var oracle: [UInt64: Int] = [:]
        var row = 0
        for round in 0..<20 {
            for _ in 0..<500 {
                let hash = Bool.random(using: &generator) ? UInt64.random(in: 1...300, using: &generator) : UInt64.random(in: 1...8, using: &generator) << 40
                index.insert(hash, row: row)
                oracle[hash] = row
                row += 1
            }
            if round % 5 == 4 {
                let firstLive = row - 700
                index = index.keeping(rowsFrom: firstLive)
                oracle = oracle.filter { $0.value >= firstLive }
            }
            #expect(index.count == oracle.count, "round \(round)")
            for hash in (1...310).map(UInt64.init) + (1...9).map({ UInt64($0) << 40 }) {
                #expect(index.row(hash) == oracle[hash], "round \(round), hash \(hash)")
            }
        }
        #expect(KeyIndex.hash("") != 0 && KeyIndex.hash("a") != KeyIndex.hash("b"))
    }

    @Test func hotBufferIndexesKeysAndTracksOffsets() {
        let fields: [(name: String, type: DataType)] = [("id", .string), ("n", .int64)]
        let buffer = HotBuffer(fields: fields, keyField: "id")
        let decoder = RecordDecoder(fields: fields, keyField: "id", timestampField: nil, maxBytes: 1000)
        // Two appends of decoded records; the second holds a rejected record from partition 1.
        var records = (0..<6).map { i in KafkaMessage(topic: "t", partition: 0, offset: Int64(100 + i), key: nil, value: Array(#"{"id":"k\#(i % 4)","n":\#(i)}"#.utf8), timestampMillis: nil) }
        buffer.append(decoder.decode(records.map(\.value)), records: records, nowMillis: 5)
        records = (6..<10).map { i in KafkaMessage(topic: "t", partition: 0, offset: Int64(100 + i), key: nil, value: Array(#"{"id":"k\#(i % 4)","n":\#(i)}"#.utf8), timestampMillis: nil) }
        records.insert(KafkaMessage(topic: "t", partition: 1, offset: 7, key: nil, value: Array("{bad".utf8), timestampMillis: nil), at: 2)
        let decoded = decoder.decode(records.map(\.value))
        #expect(decoded.rowCount == 4 && decoded.rejections.compactMap { $0?.reason } == ["invalid_json"])
        buffer.append(decoded, records: records, nowMillis: 9)
        let sizes = (0..<10).reduce(0) { $0 + #"{"id":"k\#($1 % 4)","n":\#($1)}"#.utf8.count + 64 }
        #expect(buffer.rowCount == 10 && buffer.byteCount == sizes && buffer.oldestMillis == 5)
        let found: [ScalarValue]? = buffer.lookup("k1")?.map { $0.1 }
        #expect(found == [.string("k1"), .int64(9)], "the latest row with the key")
        #expect(buffer.lookup("nope") == nil)
        #expect(buffer.offsets == [TopicPartition("t", 0): OffsetRange(first: 100, next: 110), TopicPartition("t", 1): OffsetRange(first: 7, next: 8)])
        // Sealed rows (a commit in flight) stay visible; rows appended meanwhile are active.
        let sealed = buffer.seal()
        #expect(sealed.rowCount == 10 && sealed.batches.reduce(0) { $0 + $1.rowCount } == 10 && sealed.offsets == buffer.offsets)
        let late = [KafkaMessage(topic: "t", partition: 0, offset: 110, key: nil, value: Array(#"{"id":"k9","n":10}"#.utf8), timestampMillis: nil)]
        buffer.append(decoder.decode(late.map(\.value)), records: late, nowMillis: 20)
        #expect(buffer.rowCount == 11 && buffer.snapshot().reduce(0) { $0 + $1.rowCount } == 11)
        #expect(buffer.lookup("k1")?.map { $0.1 } == [.string("k1"), .int64(9)] && buffer.lookup("k9") != nil)
        // The commit landed: the sealed rows go, the late row stays, offsets move past both.
        buffer.dropSealed()
        #expect(buffer.rowCount == 1 && buffer.lookup("k1") == nil && buffer.lookup("k9")?.map { $0.1 } == [.string("k9"), .int64(10)])
        #expect(buffer.offsets == [TopicPartition("t", 0): OffsetRange(first: 110, next: 111)])
        #expect(buffer.nextOffsets == [TopicPartition("t", 0): 111, TopicPartition("t", 1): 8])
        #expect(buffer.oldestMillis == 20)
        // A new column (schema evolution): buffered rows read it as null; a schema that does not
        // extend the buffer's is refused.
        #expect(buffer.extend(to: fields + [("region", .string)]))
        #expect(buffer.lookup("k9")?.map { $0.1 } == [.string("k9"), .int64(10), .null])
        #expect(buffer.snapshot().allSatisfy { $0.names == ["id", "n", "region"] })
        #expect(!buffer.extend(to: [("id", .string), ("n", .float64), ("region", .string)]) && buffer.fields.count == 3)
        buffer.drain()
        #expect(buffer.isEmpty() && buffer.rowCount == 0)
    }

    @Test func recordsAreTypedOrRejectedWithAReason() {
        let decoder = RecordDecoder(fields: [("id", .string), ("ts", .timestamp), ("latency", .float64), ("n", .int64)], keyField: "id",
                                    timestampField: "ts", maxBytes: 200)
        guard case .success(let row) = decoder.decode(Array(#"{"id":"a","ts":"2026-01-01T00:00:01Z","latency":3,"n":4,"extra":true}"#.utf8)) else {
            Issue.record("a good record was rejected"); return
        }
        #expect(row == [.string("a"), .timestamp(1_767_225_601_000_000_000), .float64(3), .int64(4)])
        #expect(decoder.decode(Array("{not json".utf8)).rejection?.reason == "invalid_json")
        #expect(decoder.decode(Array(#"{"id":"a","n":"four"}"#.utf8)).rejection?.reason == "wrong_type")
        #expect(decoder.decode(Array(#"{"id":"a","ts":"yesterday"}"#.utf8)).rejection?.reason == "wrong_type")
        #expect(decoder.decode(Array(#"{"n":1}"#.utf8)).rejection?.reason == "missing_key")
        #expect(decoder.decode(Array(repeating: 0x20, count: 300)).rejection?.reason == "oversized")
    }
}

extension Result where Failure == Rejection {
    var rejection: Rejection? { if case .failure(let r) = self { r } else { nil } }
}
