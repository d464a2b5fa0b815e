// KymaKafka: Kafka through librdkafka, the only module that imports CRdKafka. A consumer with
// manual offsets, rebalance callbacks, pause/resume and watermarks (k2i's input); a producer
// (tests, benchmarks, `kyma dev kafka`); and librdkafka's mock cluster, which speaks the Kafka
// protocol over TCP on 127.0.0.1 (tests and dev, no broker package needed).

import CRdKafka

public enum KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A librdkafka property was refused: its name and librdkafka's reason.
    case configuration(key: String, reason: String)
    /// The client could not be created or used.
    case client(String)
    /// An operation failed with a Kafka or librdkafka error code.
    case broker(code: Int32, message: String)

    public var description: String {
        switch self {
        case .configuration(let key, let reason): "kafka setting '\(key)': \(reason)"
        case .client(let reason): "kafka client: \(reason)"
        case .broker(let code, let message): "kafka error \(code): \(message)"
        }
    }

    static func from(_ code: rd_kafka_resp_err_t, _ context: String) -> KafkaError {
        .broker(code: code.rawValue, message: "\(context): \(String(cString: rd_kafka_err2str(code)))")
    }
}

/// A topic-partition.
public struct TopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic):\(partition)" }
    public static func < (a: TopicPartition, b: TopicPartition) -> Bool { (a.topic, a.partition) < (b.topic, b.partition) }
}

/// One consumed record. Its key and value borrow librdkafka's fetch buffer when it was consumed
/// (see `KafkaBytes`): keeping a record keeps the buffers of its poll.
public struct KafkaMessage: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: KafkaBytes?
    public var value: KafkaBytes
    /// Producer or log-append time, when the broker reports one.
    public var timestampMillis: Int64?

    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }

    public init(topic: String, partition: Int32, offset: Int64, key: KafkaBytes?, value: KafkaBytes, timestampMillis: Int64?) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestampMillis = timestampMillis
    }

    /// A record made in Swift (tests, the transaction log): its bytes are copied.
    public init(topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8], timestampMillis: Int64?) {
        self.init(topic: topic, partition: partition, offset: offset, key: key.map { KafkaBytes($0) }, value: KafkaBytes(value), timestampMillis: timestampMillis)
    }
}

/// librdkafka properties as name/value pairs, applied one by one so a bad one is named.
func makeConfiguration(_ properties: [String: String]) throws(KafkaError) -> OpaquePointer {
    guard let conf = rd_kafka_conf_new() else { throw .client("rd_kafka_conf_new failed") }
    var errstr = [CChar](repeating: 0, count: 512)
    for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
        if rd_kafka_conf_set(conf, key, value, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            throw .configuration(key: key, reason: cText(errstr))
        }
    }
    return conf
}

/// A partition list built from (topic-partition, offset) pairs; the caller destroys it.
func partitionList(_ entries: [(TopicPartition, Int64?)]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
    let list = rd_kafka_topic_partition_list_new(Int32(max(1, entries.count)))!
    for (tp, offset) in entries {
        let element = rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition)!
        if let offset { element.pointee.offset = offset }
    }
    return list
}

/// The (topic-partition, offset) pairs of a librdkafka list.
func entries(of list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> [(TopicPartition, Int64)] {
    guard let list else { return [] }
    return (0..<Int(list.pointee.cnt)).map { i in
        let element = list.pointee.elems[i]
        return (TopicPartition(String(cString: element.topic), element.partition), element.offset)
    }
}

/// The librdkafka version string (for `k2i validate` and logs).
public var librdkafkaVersion: String { String(cString: rd_kafka_version_str()) }

/// The text of a NUL-terminated C buffer librdkafka filled.
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
