// Errors of configuration and start-up, each a one-line message for the command line.

public enum RuntimeError: Error, Sendable, CustomStringConvertible {
    case missingConfiguration(String)
    case invalidConfiguration(key: String, reason: String)
    case catalogUnavailable(url: String, source: String, reason: String)
    case storeUnavailable(store: String, source: String, reason: String)

    public var description: String {
        switch self {
        case .missingConfiguration(let message): message
        case .invalidConfiguration(let key, let reason): "invalid configuration \(key): \(reason)"
        case .catalogUnavailable(let url, let source, let reason): "catalog \(url) (from \(source)) is unavailable: \(reason)"
        case .storeUnavailable(let store, let source, let reason): "object store \(store) (from \(source)) is unavailable: \(reason)"
        }
    }
}
