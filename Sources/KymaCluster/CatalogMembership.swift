// Membership from the catalog's `nodes` table: a node that serves the leaf API registers its
// address and heartbeats (KymaRuntime.NodeHeartbeat); one that misses heartbeats for
// `timeoutSeconds` leaves the candidate set. Read at most once a second per coordinator.

import KymaCatalog
import KymaPlan
import Synchronization

public final class CatalogMembership: ClusterMembership {
    let catalog: any Catalog
    let timeoutSeconds: Int
    let refreshSeconds: Double
    private let cached = Mutex<(nodes: [ClusterNode], at: ContinuousClock.Instant)?>(nil)

    public init(catalog: any Catalog, timeoutSeconds: Int, refreshSeconds: Double = 1) {
        self.catalog = catalog
        self.timeoutSeconds = max(1, timeoutSeconds)
        self.refreshSeconds = refreshSeconds
    }

    public func liveNodes() async throws(QueryError) -> [ClusterNode] {
        let now = ContinuousClock.now
        if let hit = cached.withLock({ $0 }), now - hit.at < .milliseconds(Int(refreshSeconds * 1000)) { return hit.nodes }
        let statuses: [NodeStatus]
        do {
            statuses = try await catalog.nodes(timeoutSeconds: timeoutSeconds)
        } catch {
            throw .catalogUnavailable("listing query nodes: \(error)")
        }
        let nodes = statuses.compactMap { status -> ClusterNode? in
            guard status.isAlive, let address = status.identity.leafAddress, !address.isEmpty else { return nil }
            return ClusterNode(id: status.identity.id, address: address)
        }.sorted { $0.id < $1.id }
        cached.withLock { $0 = (nodes, now) }
        return nodes
    }

    /// Forgets the cached list (a node was seen to fail): the next query reads the catalog.
    public func invalidate() {
        cached.withLock { $0 = nil }
    }
}
