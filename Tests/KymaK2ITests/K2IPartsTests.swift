// k2i's parts on their own: configuration (unknown keys, types, environment overrides, secrets),
// the transaction log (torn tails), the circuit breaker, the hot buffer, record decoding.

import Foundation
import KymaCore
import KymaK2I
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
        ("[iceberg]\ncompression = \"snappy\"", "key 'iceberg.compression': 'snappy' is not available"),
        ("[buffer]\nlow_watermark_percent = 90", "must be below high_watermark_percent"),
        ("[kafka.format.schema]\nid = \"decimal\"", "key 'kafka.format.schema.id'"),
        ("[[iceberg.partition_spec]]\nsource_field = \"ts\"\ntransform = \"month\"", "transform 'month'"),
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
        var recovered = try TransactionLog(directory: directory, name: "t").recover()
        #expect(recovered.count == 100)
        let offsets: [Int64] = recovered.map { $0.offset }, expectedOffsets: [Int64] = records.map { $0.offset }
        let values: [[UInt8]] = recovered.map { $0.value }, expectedValues: [[UInt8]] = records.map { $0.value }
        let keys: [[UInt8]?] = recovered.map { $0.key }, expectedKeys: [[UInt8]?] = records.map { $0.key }
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
        try reopened.append([records[0]])
        #expect(try TransactionLog(directory: directory, name: "t").recover().count == kept + 1)
        try reopened.truncate()
        #expect(try TransactionLog(directory: directory, name: "t").recover().isEmpty)
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

    @Test func hotBufferIndexesKeysAndTracksOffsets() {
        let buffer = HotBuffer(fields: [("id", .string), ("n", .int64)], keyField: "id")
        for i in 0..<10 { buffer.append([.string("k\(i % 4)"), .int64(Int64(i))], partition: TopicPartition("t", 0), offset: Int64(100 + i), size: 10, nowMillis: 5) }
        buffer.skip(partition: TopicPartition("t", 1), offset: 7)
        #expect(buffer.rowCount == 10 && buffer.byteCount == 100 && buffer.oldestMillis == 5)
        let found: [ScalarValue]? = buffer.lookup("k1")?.map { $0.1 }
        #expect(found == [.string("k1"), .int64(9)], "the latest row with the key")
        #expect(buffer.lookup("nope") == nil)
        #expect(buffer.offsets == [TopicPartition("t", 0): OffsetRange(first: 100, next: 110), TopicPartition("t", 1): OffsetRange(first: 7, next: 8)])
        let (batch, offsets) = buffer.drain()
        #expect(batch.rowCount == 10 && offsets.count == 2 && buffer.isEmpty())
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
