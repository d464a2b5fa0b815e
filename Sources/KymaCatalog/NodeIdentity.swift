// Who a process is, as registered in the catalog's `nodes` table.

public struct NodeIdentity: Sendable, Hashable {
    public enum Role: String, Sendable, Hashable, CaseIterable {
        case query, ingest, worker, server, k2i, cli
    }

    public var id: String
    public var role: Role
    public var address: String
    /// host:port of the node's internal gRPC API (the leaf service), when it serves one.
    public var leafAddress: String?

    public init(id: String, role: Role, address: String, leafAddress: String? = nil) {
        self.id = id
        self.role = role
        self.address = address
        self.leafAddress = leafAddress
    }
}

public struct NodeStatus: Sendable, Hashable {
    public var identity: NodeIdentity
    public var startedAtMillis: Int64
    public var lastHeartbeatMillis: Int64
    /// Seen within the timeout the listing was asked with.
    public var isAlive: Bool

    public init(identity: NodeIdentity, startedAtMillis: Int64, lastHeartbeatMillis: Int64, isAlive: Bool) {
        self.identity = identity
        self.startedAtMillis = startedAtMillis
        self.lastHeartbeatMillis = lastHeartbeatMillis
        self.isAlive = isAlive
    }
}
