// This process's identity in the catalog and the task that keeps it alive there.

#if canImport(Glibc)
import Glibc
#endif
import KymaCatalog

/// Registers a node and heartbeats every `intervalSeconds` until `stop()`. A failed heartbeat
/// (catalog briefly unreachable) is retried at the next tick; liveness is judged by readers
/// from the heartbeat's age.
public final class NodeHeartbeat: Sendable {
    public let identity: NodeIdentity
    private let task: Task<Void, Never>

    public static func start(_ identity: NodeIdentity, catalog: any Catalog, intervalSeconds: Double) async throws(CatalogError) -> NodeHeartbeat {
        try await catalog.registerNode(identity)
        return NodeHeartbeat(identity: identity, catalog: catalog, intervalSeconds: intervalSeconds)
    }

    private init(identity: NodeIdentity, catalog: any Catalog, intervalSeconds: Double) {
        self.identity = identity
        self.task = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int(intervalSeconds * 1000)))
                if Task.isCancelled { break }
                try? await catalog.heartbeat(nodeID: identity.id)
            }
        }
    }

    public func stop() { task.cancel() }

    /// Stops heartbeating and removes the node from the catalog (a clean shutdown): it leaves
    /// the candidate set at once. Best effort: a catalog that cannot be reached lets the
    /// heartbeat age out instead.
    public func leave(catalog: any Catalog) async {
        await stopAndWait()
        try? await catalog.unregisterNode(id: identity.id)
    }

    /// Stops and returns once the heartbeat task has ended (no heartbeat is in flight after).
    public func stopAndWait() async {
        task.cancel()
        await task.value
    }

    deinit { task.cancel() }

    /// A node id unique to this process: host name, pid and a random suffix.
    public static func makeNodeID(role: NodeIdentity.Role) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        let host = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(role.rawValue)-\(host)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }
}
