// Placement's properties: the same units and nodes give the same placement on any coordinator;
// every unit lands on one of its top two nodes; load spreads; removing a node moves only the
// units it held (rendezvous hashing), and a retry goes to the next node of the unit's ranking.

import KymaCluster
import KymaTestSupport
import Testing

@Suite("Placement")
struct PlacementTests {
    static func nodes(_ count: Int) -> [ClusterNode] {
        (0..<count).map { ClusterNode(id: "server-host-\(1000 + $0)-\($0 * 7919)", address: "127.0.0.1:\(9000 + $0)") }
    }

    static func units(_ count: Int, seed: UInt64) -> [(key: String, cost: Int)] {
        var g = SplitMix64(seed: seed)
        return (0..<count).map { i in (key: "tables/logs/extents/\(i)-\(g.next() % 100_000).tlm", cost: 1 + Int(g.next() % 10_000_000)) }
    }

    @Test func deterministicAndWithinTopTwo() {
        let nodes = Self.nodes(5), units = Self.units(400, seed: 3)
        let a = Placement(units: units, nodes: nodes), b = Placement(units: units, nodes: nodes.reversed())
        for (i, unit) in units.enumerated() {
            // The same node whatever order the coordinator listed the nodes in.
            #expect(a.nodes[a.chosen[i]].id == b.nodes[b.chosen[i]].id)
            let ranking = Placement.ranking(key: unit.key, nodes: nodes)
            #expect(Set(ranking) == Set(nodes.indices))
            #expect(a.chosen[i] == ranking[0] || a.chosen[i] == ranking[1], "unit \(i) is on neither of its top two nodes")
        }
    }

    @Test func loadSpreads() {
        let nodes = Self.nodes(4), units = Self.units(2000, seed: 9)
        let placement = Placement(units: units, nodes: nodes)
        var load = Array(repeating: 0, count: nodes.count)
        for (i, unit) in units.enumerated() { load[placement.chosen[i]] += unit.cost }
        let total = load.reduce(0, +), mean = Double(total) / Double(nodes.count)
        // Two choices keep every node near its share (one choice alone: rendezvous variance).
        #expect(load.allSatisfy { abs(Double($0) - mean) < 0.1 * mean }, "loads \(load)")
    }

    @Test func removingANodeKeepsOtherRankings() {
        let nodes = Self.nodes(6), units = Self.units(300, seed: 5)
        let fewer = nodes.filter { $0.id != nodes[2].id }
        for unit in units {
            let full = Placement.ranking(key: unit.key, nodes: nodes).map { nodes[$0].id }.filter { $0 != nodes[2].id }
            let without = Placement.ranking(key: unit.key, nodes: fewer).map { fewer[$0].id }
            #expect(full == without)
        }
    }

    @Test func retryGoesDownTheRankingNeverToATriedNode() {
        let nodes = Self.nodes(3), units = Self.units(50, seed: 1)
        let placement = Placement(units: units, nodes: nodes)
        for i in units.indices {
            let first = placement.chosen[i]
            let next = placement.next(for: i, excluding: [first])
            #expect(next != nil && next != first)
            #expect(placement.rankings[i].filter { $0 != first }.first == next)
            #expect(placement.next(for: i, excluding: Set(nodes.indices)) == nil)
        }
    }
}
