// k2i's one error type; each case maps to the process exit code users of k2i know.

public enum K2IError: Error, Sendable, CustomStringConvertible {
    case config(String)
    case kafka(String)
    case iceberg(String)
    case storage(String)
    case transactionLog(String)
    case health(String)
    case runtime(String)

    /// 1 config, 2 Kafka, 3 Iceberg, 4 storage, 5 transaction log, 6 health, 10 runtime (130: signal).
    public var exitCode: Int32 {
        switch self {
        case .config: 1
        case .kafka: 2
        case .iceberg: 3
        case .storage: 4
        case .transactionLog: 5
        case .health: 6
        case .runtime: 10
        }
    }

    public var description: String {
        switch self {
        case .config(let m): "configuration: \(m)"
        case .kafka(let m): "kafka: \(m)"
        case .iceberg(let m): "iceberg: \(m)"
        case .storage(let m): "object store: \(m)"
        case .transactionLog(let m): "transaction log: \(m)"
        case .health(let m): "health: \(m)"
        case .runtime(let m): "runtime: \(m)"
        }
    }
}
