// Where each scan unit is read: rendezvous (highest-random-weight) hashing of the unit's object
// key over the live nodes ranks the nodes per unit, the same ranking on every coordinator; a
// unit goes to the less loaded of its top two, units placed largest first (Quickwit's scheme:
// a node keeps the objects it cached, no node takes more than its share of a skewed scan).
// A retry goes down the same ranking, so the node that takes over a unit is the one that would
// cache it if its first node left for good.

import KymaIndex

/// A live node that serves the leaf API.
public struct ClusterNode: Sendable, Hashable, Codable {
    public var id: String
    /// host:port of its leaf service.
    public var address: String

    public init(id: String, address: String) {
        self.id = id
        self.address = address
    }
}

public struct Placement: Sendable {
    /// The node each unit was placed on, by the unit's position in the input.
    public private(set) var chosen: [Int] = []
    /// Each unit's nodes, best first (indexes into `nodes`).
    public private(set) var rankings: [[Int]] = []
    public let nodes: [ClusterNode]

    /// Places units given as (object key, cost). Deterministic for the same units and nodes.
    public init(units: [(key: String, cost: Int)], nodes: [ClusterNode]) {
        precondition(!nodes.isEmpty, "placement needs a node")
        self.nodes = nodes
        rankings = units.map { Self.ranking(key: $0.key, nodes: nodes) }
        chosen = Array(repeating: 0, count: units.count)
        var load = Array(repeating: 0, count: nodes.count)
        let order = units.indices.sorted { units[$0].cost != units[$1].cost ? units[$0].cost > units[$1].cost : $0 < $1 }
        for unit in order {
            let ranking = rankings[unit]
            var pick = ranking[0]
            if ranking.count > 1, load[ranking[1]] < load[pick] { pick = ranking[1] }
            chosen[unit] = pick
            load[pick] += max(1, units[unit].cost)
        }
    }

    /// The units placed on each node: node index -> unit positions, ascending.
    public var assignments: [Int: [Int]] {
        var out: [Int: [Int]] = [:]
        for (unit, node) in chosen.enumerated() { out[node, default: []].append(unit) }
        return out
    }

    /// The best-ranked node for `unit` not in `excluded`, if any.
    public func next(for unit: Int, excluding excluded: Set<Int>) -> Int? {
        rankings[unit].first { !excluded.contains($0) }
    }

    /// Nodes ranked for `key`, best first: by XXH64 of node id and key (stable across processes
    /// and machines, unlike Swift's seeded `Hasher`).
    public static func ranking(key: String, nodes: [ClusterNode]) -> [Int] {
        let scores = nodes.map { XXHash64.hash(Array(($0.id + "\u{0}" + key).utf8)) }
        return nodes.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : nodes[$0].id < nodes[$1].id }
    }
}
