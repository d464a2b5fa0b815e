// The one error type of the catalog layer.

public enum CatalogError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The catalog could not be reached; `url` has any password removed.
    case cannotConnect(url: String, reason: String)
    /// The connection broke during a call; its outcome is unknown to the caller.
    case connectionLost(reason: String)
    case migration(version: Int, reason: String)
    /// The database holds a newer schema than this binary knows.
    case schemaTooNew(found: Int, known: Int)
    /// A concurrent change won (a name taken, a lease lost, a compaction raced).
    case conflict(String)
    /// A value broke a rule of the schema.
    case constraint(String)
    case tableNotFound(String)
    case invalidArgument(String)
    /// Any other failure of a statement, with the database's message.
    case query(operation: String, reason: String)
    /// The catalog did not answer in time (connecting, or a statement): what and how long. The
    /// statement was cancelled in PostgreSQL; its outcome is unknown, as for `connectionLost`.
    case timeout(operation: String, seconds: Double)
    /// The caller's task was cancelled; the statement was cancelled in PostgreSQL.
    case cancelled(operation: String)
    /// A batch id was used for other inputs, or a part overlaps lines committed differently.
    case batchMismatch(batchID: String, reason: String)
    /// A commit named an object whose upload registration the garbage collector had already
    /// taken (the upload was older than its grace): nothing was committed; upload again.
    case uploadCollected(objectKey: String)

    public var description: String {
        switch self {
        case .cannotConnect(let url, let reason): "cannot connect to catalog at \(url): \(reason)"
        case .connectionLost(let reason): "catalog connection lost: \(reason)"
        case .migration(let version, let reason): "catalog migration \(version) failed: \(reason)"
        case .schemaTooNew(let found, let known):
            "catalog schema version \(found) is newer than this binary knows (\(known)); upgrade kyma"
        case .conflict(let what): "catalog conflict: \(what)"
        case .constraint(let what): "catalog constraint violated: \(what)"
        case .tableNotFound(let name): "table '\(name)' not found"
        case .invalidArgument(let what): "invalid catalog argument: \(what)"
        case .query(let operation, let reason): "catalog \(operation) failed: \(reason)"
        case .timeout(let operation, let seconds): "catalog \(operation) timed out after \(seconds) s"
        case .cancelled(let operation): "catalog \(operation) cancelled"
        case .batchMismatch(let batchID, let reason): "batch '\(batchID)' refused: \(reason)"
        case .uploadCollected(let key):
            "object '\(key)' was collected as an abandoned upload before its commit; nothing was committed, ingest again"
        }
    }
}
