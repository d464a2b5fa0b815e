// A producer: asynchronous sends with delivery reports counted, flushed on demand.

import CRdKafka
import Synchronization

/// Counts delivery reports; reached from librdkafka's callback through the client opaque.
final class DeliveryCounter: Sendable {
    let delivered = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let lastError = Mutex<String?>(nil)
}

public final class KafkaProducer: @unchecked Sendable {
    // @unchecked: librdkafka's producer handle is thread-safe; the topic handles are created
    // under `lock` and live as long as the producer.
    let handle: OpaquePointer
    let counter = DeliveryCounter()
    private let lock = Mutex<[String: OpaquePointer]>([:])

    /// `properties`: librdkafka settings, at least `bootstrap.servers`.
    public init(_ properties: [String: String]) throws(KafkaError) {
        let conf = try makeConfiguration(properties)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(counter).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
            guard let message, let opaque else { return }
            let counter = Unmanaged<DeliveryCounter>.fromOpaque(opaque).takeUnretainedValue()
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                counter.delivered.add(1, ordering: .relaxed)
            } else {
                counter.failed.add(1, ordering: .relaxed)
                let text = String(cString: rd_kafka_err2str(message.pointee.err))
                counter.lastError.withLock { $0 = text }
            }
        }
        var errstr = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
            throw .client("cannot create producer: \(cText(errstr))")
        }
        self.handle = handle
    }

    deinit {
        lock.withLock { topics in for (_, topic) in topics { rd_kafka_topic_destroy(topic) } }
        rd_kafka_destroy(handle)
    }

    public var deliveredCount: Int { counter.delivered.load(ordering: .relaxed) }
    public var failedCount: Int { counter.failed.load(ordering: .relaxed) }

    /// Queues one record (`partition` nil: by key hash, librdkafka's default partitioner).
    /// When the local queue is full, serves delivery reports and retries for up to 10 s.
    public func send(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]) throws(KafkaError) {
        let rkt: OpaquePointer = try lock.withLock { topics throws(KafkaError) -> OpaquePointer in
            if let existing = topics[topic] { return existing }
            guard let created = rd_kafka_topic_new(handle, topic, nil) else { throw KafkaError.client("cannot open topic \(topic)") }
            topics[topic] = created
            return created
        }
        var attempts = 0
        while true {
            let result = value.withUnsafeBytes { payload in
                (key ?? []).withUnsafeBytes { keyBytes in
                    rd_kafka_produce(rkt, partition ?? -1, 0x2 /* RD_KAFKA_MSG_F_COPY */, UnsafeMutableRawPointer(mutating: payload.baseAddress),
                                     payload.count, key == nil ? nil : keyBytes.baseAddress, key == nil ? 0 : keyBytes.count, nil)
                }
            }
            if result == 0 { break }
            let error = rd_kafka_last_error()
            guard error == RD_KAFKA_RESP_ERR__QUEUE_FULL, attempts < 1000 else { throw KafkaError.from(error, "produce to \(topic)") }
            attempts += 1
            rd_kafka_poll(handle, 10)
        }
        rd_kafka_poll(handle, 0)
    }

    /// Waits until every queued record is delivered or failed; throws when some failed.
    public func flush(timeoutMillis: Int32 = 30_000) throws(KafkaError) {
        let result = rd_kafka_flush(handle, timeoutMillis)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError.from(result, "flush") }
        if failedCount > 0 { throw .client("\(failedCount) record(s) failed delivery: \(counter.lastError.withLock { $0 } ?? "")") }
    }
}
