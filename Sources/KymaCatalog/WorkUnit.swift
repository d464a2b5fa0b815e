// Background work (compaction, cleanup) queued in the catalog and leased to workers.

public typealias WorkUnitID = Int64

/// ```
///   pending --claim--> running --complete--> done
///      ^                  |  \--fail (attempts left)--> pending
///      |                  |   \-fail (no attempts left)--> failed
///      +---lease expires--+   (an expired running unit is claimable again)
/// ```
public struct WorkUnit: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        case pending, running, done, failed
    }

    public var id: WorkUnitID
    public var kind: String
    /// JSON text.
    public var payload: String
    public var state: State
    public var attempts: Int
    public var leaseOwner: String?
    public var leaseExpiresAtMillis: Int64?
    public var result: String?
    public var lastError: String?

    public init(id: WorkUnitID, kind: String, payload: String, state: State, attempts: Int, leaseOwner: String?,
                leaseExpiresAtMillis: Int64?, result: String?, lastError: String?) {
        self.id = id
        self.kind = kind
        self.payload = payload
        self.state = state
        self.attempts = attempts
        self.leaseOwner = leaseOwner
        self.leaseExpiresAtMillis = leaseExpiresAtMillis
        self.result = result
        self.lastError = lastError
    }
}
