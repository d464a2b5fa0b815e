// librdkafka's mock cluster: in-process brokers speaking the Kafka protocol over TCP on
// 127.0.0.1, for tests and `kyma dev kafka`. It lives as long as this object.

import CRdKafka

public final class KafkaMockCluster: @unchecked Sendable {
    // @unchecked: the mock cluster's own threads serve it; this object only holds the handles.
    let owner: OpaquePointer
    let cluster: OpaquePointer

    public init(brokers: Int32 = 1) throws(KafkaError) {
        let conf = try makeConfiguration(["log_level": "3"])
        var errstr = [CChar](repeating: 0, count: 512)
        guard let owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errstr, errstr.count) else {
            throw .client("cannot create the mock cluster's owner: \(cText(errstr))")
        }
        guard let cluster = rd_kafka_mock_cluster_new(owner, brokers) else {
            rd_kafka_destroy(owner)
            throw .client("rd_kafka_mock_cluster_new failed")
        }
        self.owner = owner
        self.cluster = cluster
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(owner)
    }

    /// `host:port,...` of the mock brokers.
    public var bootstrapServers: String { String(cString: rd_kafka_mock_cluster_bootstraps(cluster)) }

    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws(KafkaError) {
        let result = rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR && result != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
            throw KafkaError.from(result, "create topic \(name)")
        }
    }
}
