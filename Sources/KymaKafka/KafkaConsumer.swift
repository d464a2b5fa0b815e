// A group consumer with manual offsets. librdkafka runs the group protocol; Kyma decides where
// each assigned partition starts (`onAssign` returns the offsets, e.g. those recorded in the
// Iceberg table) and gets to finish its work before a partition is taken away (`onRevoke`).
// Both run on the thread that calls `poll`, inside it.

import CRdKafka

/// What the consumer calls on rebalances (on the polling thread, inside `poll`).
final class RebalanceCallbacks: @unchecked Sendable {
    // @unchecked: called only from the single polling thread.
    let onAssign: ([TopicPartition]) -> [TopicPartition: Int64]
    let onRevoke: ([TopicPartition]) -> Void

    init(onAssign: @escaping ([TopicPartition]) -> [TopicPartition: Int64], onRevoke: @escaping ([TopicPartition]) -> Void) {
        self.onAssign = onAssign
        self.onRevoke = onRevoke
    }
}

/// The records of one poll: destroyed together when the last of them is released. Holds the
/// consumer, since librdkafka must not be torn down under records still in use.
final class PolledMessages: @unchecked Sendable {
    // @unchecked: `messages` is filled by the polling thread before any record is handed out,
    // then only read by deinit.
    let consumer: KafkaConsumer
    var messages: [UnsafeMutablePointer<rd_kafka_message_t>] = []

    init(consumer: KafkaConsumer) { self.consumer = consumer }

    deinit { for message in messages { rd_kafka_message_destroy(message) } }
}

/// One consumer. `poll`, `commit`, `pause`, `resume` and `seek` are called from one thread (the
/// consuming loop); `assignment`, `watermarks` and `lag` may be called from any thread.
public final class KafkaConsumer: @unchecked Sendable {
    let handle: OpaquePointer
    /// The consumer group's queue, which `rd_kafka_poll_set_consumer` forwards everything to.
    let queue: OpaquePointer
    let callbacks: RebalanceCallbacks
    private var closed = false

    /// Start offsets `onAssign` may return besides real ones: a partition's first record still
    /// held, and the end (only records produced from now on).
    public static let beginning = Int64(RD_KAFKA_OFFSET_BEGINNING)
    public static let end = Int64(RD_KAFKA_OFFSET_END)

    /// `properties`: librdkafka settings (`bootstrap.servers`, `group.id`, ...); auto commit is
    /// turned off (offsets are committed by `commit`). `onAssign` returns start offsets for the
    /// partitions being assigned (an offset, `beginning` or `end`; missing: the group's committed
    /// offset, else `auto.offset.reset`); `onRevoke` finishes work on partitions being revoked.
    public init(_ properties: [String: String], onAssign: @escaping ([TopicPartition]) -> [TopicPartition: Int64] = { _ in [:] },
                onRevoke: @escaping ([TopicPartition]) -> Void = { _ in }) throws(KafkaError) {
        var settings = properties
        settings["enable.auto.commit"] = "false"
        settings["enable.auto.offset.store"] = "false"
        let conf = try makeConfiguration(settings)
        callbacks = RebalanceCallbacks(onAssign: onAssign, onRevoke: onRevoke)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(callbacks).toOpaque())
        rd_kafka_conf_set_rebalance_cb(conf) { rk, error, partitions, opaque in
            guard let rk, let opaque else { return }
            let callbacks = Unmanaged<RebalanceCallbacks>.fromOpaque(opaque).takeUnretainedValue()
            let assigned = entries(of: partitions).map(\.0)
            if error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, let partitions {
                let starts = callbacks.onAssign(assigned)
                for i in 0..<Int(partitions.pointee.cnt) {
                    let element = partitions.pointee.elems[i]
                    if let start = starts[TopicPartition(String(cString: element.topic), element.partition)] {
                        partitions.pointee.elems[i].offset = start
                    }
                }
                rd_kafka_assign(rk, partitions)
            } else {
                callbacks.onRevoke(assigned)
                rd_kafka_assign(rk, nil)
            }
        }
        var errstr = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errstr, errstr.count) else {
            throw .client("cannot create consumer: \(cText(errstr))")
        }
        rd_kafka_poll_set_consumer(handle)
        guard let queue = rd_kafka_queue_get_consumer(handle) else {
            rd_kafka_destroy(handle)
            throw .configuration(key: "group.id", reason: "a consumer needs a group id")
        }
        self.handle = handle
        self.queue = queue
    }

    deinit {
        close()
        slots.deallocate()
        rd_kafka_queue_destroy(queue)
        rd_kafka_destroy(handle)
    }

    public func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = partitionList(topics.map { (TopicPartition($0, -1), nil) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let result = rd_kafka_subscribe(handle, list)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.from(result, "subscribe to \(topics.joined(separator: ","))") }
    }

    /// The next record, or nil when none arrived within the timeout (see `poll(max:timeoutMillis:)`).
    public func poll(timeoutMillis: Int32) throws(KafkaError) -> KafkaMessage? {
        try poll(max: 1, timeoutMillis: timeoutMillis).first
    }

    /// Up to `max` records: waits at most `timeoutMillis` for the first, then takes only what
    /// librdkafka has already fetched. Empty when none arrived in time. Their bytes are not
    /// copied (`KafkaBytes`): the records of one poll hold librdkafka's buffers until the last of
    /// them is released. Transient client errors (a broker connection lost, partition EOF) are
    /// not records and not failures; a fatal error throws.
    public func poll(max: Int, timeoutMillis: Int32) throws(KafkaError) -> [KafkaMessage] {
        guard max > 0 else { return [] }
        if slots.count < max {
            slots.deallocate()
            slots = .allocate(capacity: max)
        }
        let slots = slots.baseAddress!
        // rd_kafka_consume_batch_queue waits for all `max` records or the timeout, so the wait for
        // the first is a single-record poll, and the rest is taken without waiting.
        var count = rd_kafka_consume_batch_queue(queue, 0, slots, max)
        if count == 0, timeoutMillis > 0, let first = rd_kafka_consumer_poll(handle, timeoutMillis) {
            slots[0] = first
            count = 1 + (max > 1 ? Swift.max(0, rd_kafka_consume_batch_queue(queue, 0, slots + 1, max - 1)) : 0)
        }
        guard count > 0 else { return [] }
        let held = PolledMessages(consumer: self)
        held.messages.reserveCapacity(count)
        var out: [KafkaMessage] = []
        out.reserveCapacity(count)
        var fatal: rd_kafka_resp_err_t? = nil
        for i in 0..<count {
            guard let message = slots[i] else { continue }
            let m = message.pointee
            if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if m.err == RD_KAFKA_RESP_ERR__FATAL { fatal = m.err }
                rd_kafka_message_destroy(message)
                continue
            }
            held.messages.append(message)
            var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            let stamp = rd_kafka_message_timestamp(message, &type)
            out.append(KafkaMessage(topic: topicName(m.rkt), partition: m.partition, offset: m.offset,
                                    key: m.key.map { KafkaBytes(borrowing: $0, count: m.key_len, owner: held) },
                                    value: KafkaBytes(borrowing: m.payload, count: m.payload == nil ? 0 : m.len, owner: held),
                                    timestampMillis: type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : stamp))
        }
        if let fatal { throw KafkaError.from(fatal, "consumer") }
        return out
    }

    /// Where librdkafka puts a round's message pointers, kept between polls (polls come from
    /// one thread).
    private var slots = UnsafeMutableBufferPointer<UnsafeMutablePointer<rd_kafka_message_t>?>.allocate(capacity: 1)

    /// The last topic's name, kept: a String per record would be an allocation per record for
    /// names longer than 15 bytes.
    private var lastTopic: (handle: OpaquePointer?, name: String) = (nil, "")

    private func topicName(_ topic: OpaquePointer?) -> String {
        guard let topic else { return "" }
        if topic != lastTopic.handle { lastTopic = (topic, String(cString: rd_kafka_topic_name(topic))) }
        return lastTopic.name
    }

    /// The partitions currently assigned to this consumer.
    public func assignment() -> [TopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>? = nil
        guard rd_kafka_assignment(handle, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return entries(of: list).map(\.0).sorted()
    }

    public func pause(_ partitions: [TopicPartition]) {
        guard !partitions.isEmpty else { return }
        let list = partitionList(partitions.map { ($0, nil) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        _ = rd_kafka_pause_partitions(handle, list)
    }

    public func resume(_ partitions: [TopicPartition]) {
        guard !partitions.isEmpty else { return }
        let list = partitionList(partitions.map { ($0, nil) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        _ = rd_kafka_resume_partitions(handle, list)
    }

    /// Moves an assigned partition's fetch position.
    public func seek(_ partition: TopicPartition, to offset: Int64, timeoutMillis: Int32 = 10_000) throws(KafkaError) {
        let list = partitionList([(partition, offset)])
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if let error = rd_kafka_seek_partitions(handle, list, timeoutMillis) {
            let text = String(cString: rd_kafka_error_string(error))
            rd_kafka_error_destroy(error)
            throw .client("seek \(partition) to \(offset): \(text)")
        }
    }

    /// Commits the group's offsets (offset = the next record to read). `wait`: until the group
    /// coordinator has them, else only queued (a broker round trip the caller does not wait for;
    /// a failure then shows only in librdkafka's log, and leaving the group still sends what is
    /// queued).
    public func commit(_ offsets: [TopicPartition: Int64], wait: Bool = true) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = partitionList(offsets.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let result = rd_kafka_commit(handle, list, wait ? 0 : 1)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR && result != RD_KAFKA_RESP_ERR__NO_OFFSET { throw KafkaError.from(result, "commit offsets") }
    }

    /// The group's committed offsets for `partitions` (absent when none).
    public func committed(_ partitions: [TopicPartition], timeoutMillis: Int32 = 10_000) throws(KafkaError) -> [TopicPartition: Int64] {
        let list = partitionList(partitions.map { ($0, nil) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let result = rd_kafka_committed(handle, list, timeoutMillis)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.from(result, "read committed offsets") }
        var out: [TopicPartition: Int64] = [:]
        for (tp, offset) in entries(of: list) where offset >= 0 { out[tp] = offset }
        return out
    }

    /// Low and high watermarks of a partition, asking the broker.
    public func watermarks(_ partition: TopicPartition, timeoutMillis: Int32 = 5000) throws(KafkaError) -> (low: Int64, high: Int64) {
        var low: Int64 = 0, high: Int64 = 0
        let result = rd_kafka_query_watermark_offsets(handle, partition.topic, partition.partition, &low, &high, timeoutMillis)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.from(result, "watermarks of \(partition)") }
        return (low, high)
    }

    /// The last high watermark the consumer saw in fetches (no request); nil before any fetch.
    public func cachedHighWatermark(_ partition: TopicPartition) -> Int64? {
        var low: Int64 = -1, high: Int64 = -1
        let result = rd_kafka_get_watermark_offsets(handle, partition.topic, partition.partition, &low, &high)
        return result == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? high : nil
    }

    /// Leaves the group (revoking partitions through `onRevoke`). Idempotent.
    public func close() {
        guard !closed else { return }
        closed = true
        _ = rd_kafka_consumer_close(handle)
    }
}
