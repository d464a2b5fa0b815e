// librdkafka through KymaKafka against librdkafka's mock cluster (the Kafka protocol over TCP on
// 127.0.0.1), with Python's confluent-kafka as the independent client in both directions.

import Foundation
import KymaKafka
import KymaTestSupport
import Testing

/// Polls until `count` records arrived or `seconds` passed.
func consume(_ consumer: KafkaConsumer, count: Int, seconds: Double = 30) throws -> [KafkaMessage] {
    var out: [KafkaMessage] = []
    let deadline = Date().addingTimeInterval(seconds)
    while out.count < count, Date() < deadline {
        if let m = try consumer.poll(timeoutMillis: 100) { out.append(m) }
    }
    return out
}

@Suite("Kafka through librdkafka", .serialized)
struct KafkaTests {
    @Test func producedRecordsAreConsumedOnceInPartitionOrder() throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("t", partitions: 3)
        let producer = try KafkaProducer(["bootstrap.servers": cluster.bootstrapServers])
        for i in 0..<600 { try producer.send(topic: "t", key: Array("k\(i % 37)".utf8), value: Array("v\(i)".utf8)) }
        try producer.flush()
        #expect(producer.deliveredCount == 600)
        let consumer = try KafkaConsumer(["bootstrap.servers": cluster.bootstrapServers, "group.id": "g1", "auto.offset.reset": "earliest"])
        try consumer.subscribe(["t"])
        let messages = try consume(consumer, count: 600)
        #expect(messages.count == 600)
        #expect(Set(messages.map { String(decoding: $0.value, as: UTF8.self) }).count == 600)
        // Same key, same partition; offsets increase within a partition.
        var partitionOfKey: [String: Int32] = [:]
        var lastOffset: [Int32: Int64] = [:]
        for m in messages {
            let key = String(decoding: m.key ?? [], as: UTF8.self)
            #expect(partitionOfKey[key, default: m.partition] == m.partition)
            partitionOfKey[key] = m.partition
            #expect(m.offset > lastOffset[m.partition, default: -1])
            lastOffset[m.partition] = m.offset
        }
        #expect(Set(messages.map(\.partition)) == [0, 1, 2])
        // Manual commits are what the group reads back.
        let next = Dictionary(uniqueKeysWithValues: lastOffset.map { (TopicPartition("t", $0.key), $0.value + 1) })
        try consumer.commit(next)
        #expect(try consumer.committed(Array(next.keys)) == next)
        for (tp, offset) in next { #expect(try consumer.watermarks(tp).high == offset) }
        consumer.close()
    }

    /// Rounds of records borrow librdkafka's buffers (`KafkaBytes`): they hold their bytes after
    /// the poll, after the next polls and after the consumer is closed and released by its
    /// owner, and compare equal to the bytes produced (binary ones included).
    @Test func polledRoundsKeepTheirBytesWhileHeld() throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("r", partitions: 2)
        let producer = try KafkaProducer(["bootstrap.servers": cluster.bootstrapServers])
        func value(_ i: Int) -> [UInt8] { (0..<(i % 300)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) } + Array("#\(i)".utf8) }
        for i in 0..<2000 { try producer.send(topic: "r", key: i % 5 == 0 ? nil : Array("k\(i)".utf8), value: value(i)) }
        try producer.flush()
        var consumer: KafkaConsumer? = try KafkaConsumer(["bootstrap.servers": cluster.bootstrapServers, "group.id": "g-rounds", "auto.offset.reset": "earliest"])
        try consumer!.subscribe(["r"])
        var held: [KafkaMessage] = []
        var largest = 0
        let deadline = Date().addingTimeInterval(30)
        while held.count < 2000, Date() < deadline {
            let round = try consumer!.poll(max: 256, timeoutMillis: 100)
            largest = max(largest, round.count)
            held += round
        }
        #expect(held.count == 2000 && largest <= 256 && largest > 1, "\(held.count) records, rounds of up to \(largest)")
        consumer!.close()
        consumer = nil  // the records still hold it (and librdkafka's buffers)
        for m in held {
            let mark = m.value.lastIndex(of: UInt8(ascii: "#")) ?? m.value.endIndex
            let text = String(decoding: m.value[min(mark + 1, m.value.endIndex)...], as: UTF8.self)
            guard let i = Int(text) else { Issue.record("no index in a record of \(m.value.count) bytes"); continue }
            #expect(m.value == KafkaBytes(value(i)) && Array(m.value) == value(i))
            #expect(m.key.map { Array($0) } == (i % 5 == 0 ? nil : Array("k\(i)".utf8)))
        }
        #expect(Set(held.map { "\($0.partition):\($0.offset)" }).count == 2000)
    }

    @Test func assignmentStartsWhereTheCallbackSays() throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("s", partitions: 1)
        let producer = try KafkaProducer(["bootstrap.servers": cluster.bootstrapServers])
        for i in 0..<50 { try producer.send(topic: "s", partition: 0, key: nil, value: Array("\(i)".utf8)) }
        try producer.flush()
        let assigned = AssignedLog()
        let consumer = try KafkaConsumer(["bootstrap.servers": cluster.bootstrapServers, "group.id": "g2", "auto.offset.reset": "earliest"],
                                         onAssign: { partitions in assigned.add(partitions); return [TopicPartition("s", 0): 42] })
        try consumer.subscribe(["s"])
        let messages = try consume(consumer, count: 8)
        #expect(messages.map(\.offset) == Array(42..<50))
        #expect(assigned.all == [TopicPartition("s", 0)])
        // Pausing stops delivery; resuming continues.
        consumer.pause([TopicPartition("s", 0)])
        try producer.send(topic: "s", partition: 0, key: nil, value: Array("late".utf8))
        try producer.flush()
        #expect(try consume(consumer, count: 1, seconds: 1.5).isEmpty)
        consumer.resume([TopicPartition("s", 0)])
        #expect(try consume(consumer, count: 1).map { String(decoding: $0.value, as: UTF8.self) } == ["late"])
        consumer.close()
    }

    @Test func confluentKafkaInPythonAgreesBothWays() throws {
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("py-in", partitions: 2)
        try cluster.createTopic("py-out", partitions: 1)
        // Python produces; Kyma consumes.
        _ = try PythonScript.run("""
            import sys
            from confluent_kafka import Producer
            p = Producer({"bootstrap.servers": sys.argv[1]})
            for i in range(300):
                p.produce("py-in", key=f"k{i}".encode(), value=f'{{"i": {i}}}'.encode())
            assert p.flush(30) == 0
            """, [cluster.bootstrapServers])
        let consumer = try KafkaConsumer(["bootstrap.servers": cluster.bootstrapServers, "group.id": "g3", "auto.offset.reset": "earliest"])
        try consumer.subscribe(["py-in"])
        let got = try consume(consumer, count: 300)
        #expect(Set(got.map { String(decoding: $0.value, as: UTF8.self) }) == Set((0..<300).map { "{\"i\": \($0)}" }))
        consumer.close()
        // Kyma produces; Python consumes.
        let producer = try KafkaProducer(["bootstrap.servers": cluster.bootstrapServers])
        for i in 0..<200 { try producer.send(topic: "py-out", key: Array("k\(i)".utf8), value: Array("v\(i)".utf8)) }
        try producer.flush()
        let printed = try PythonScript.run("""
            import sys, time
            from confluent_kafka import Consumer
            c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "py", "auto.offset.reset": "earliest"})
            c.subscribe(["py-out"])
            seen, deadline = [], time.time() + 30
            while len(seen) < 200 and time.time() < deadline:
                m = c.poll(0.2)
                if m is not None and m.error() is None: seen.append((m.key().decode(), m.value().decode()))
            c.close()
            print(len(seen), len(set(seen)), all(k[1:] == v[1:] for k, v in seen))
            """, [cluster.bootstrapServers])
        #expect(printed.trimmingCharacters(in: .whitespacesAndNewlines) == "200 200 True")
    }

    @Test func badSettingsNameTheKey() {
        #expect(throws: KafkaError.configuration(key: "no.such.setting", reason: "No such configuration property: \"no.such.setting\"")) {
            _ = try KafkaConsumer(["bootstrap.servers": "127.0.0.1:1", "group.id": "x", "no.such.setting": "1"])
        }
    }
}

final class AssignedLog: @unchecked Sendable {
    private let lock = NSLock()
    private var partitions: [TopicPartition] = []
    func add(_ p: [TopicPartition]) { lock.lock(); partitions += p; lock.unlock() }
    var all: [TopicPartition] { lock.lock(); defer { lock.unlock() }; return partitions }
}
