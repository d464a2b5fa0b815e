// HNSW (Malkov & Yashunin, 2016): a multi-layer proximity graph for approximate nearest
// neighbours. Level of a new node ~ floor(-ln(U) * mL) with mL = 1/ln(M); layer 0 keeps up to
// 2M neighbours, upper layers M; neighbours are chosen with the paper's heuristic (Algorithm 4).
// Exact (brute-force) search over the same vectors is the ground truth and the fallback for very
// selective filters.

#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import KymaKernels

public enum VectorMetric: String, Sendable, Hashable, CaseIterable {
    /// Squared Euclidean distance.
    case l2
    /// 1 - cosine similarity (vectors are normalised on insert).
    case cosine
    /// Negative inner product (larger products rank first).
    case innerProduct = "ip"
}

public struct HNSWParameters: Sendable, Hashable {
    public var m: Int
    public var efConstruction: Int
    public var seed: UInt64

    public init(m: Int = 16, efConstruction: Int = 200, seed: UInt64 = 42) {
        self.m = max(2, m)
        self.efConstruction = max(1, efConstruction)
        self.seed = seed
    }
}

public enum VectorIndexError: Error, Sendable, Hashable, CustomStringConvertible {
    case wrongDimension(expected: Int, actual: Int)
    case notFinite(position: Int)
    case invalidGraph(String)

    public var description: String {
        switch self {
        case .invalidGraph(let reason): "stored HNSW graph is invalid: \(reason)"
        case .wrongDimension(let expected, let actual): "vector has dimension \(actual), the index has \(expected)"
        case .notFinite(let position): "vector component \(position) is NaN or infinite"
        }
    }
}

/// A search result: the id given at insert and the distance under the index's metric.
/// An index's graph as plain values: per node its top layer and its neighbours per layer.
public struct HNSWGraph: Sendable, Hashable {
    public var levels: [UInt8]
    public var neighbours: [[[UInt32]]]
    public var deleted: [UInt32]
    public var entryPoint: UInt32?
    public var maxLevel: Int
    /// The level generator's state, so inserts after a restore follow the same sequence.
    public var random: UInt64

    public init(levels: [UInt8], neighbours: [[[UInt32]]], deleted: [UInt32], entryPoint: UInt32?, maxLevel: Int, random: UInt64) {
        self.levels = levels
        self.neighbours = neighbours
        self.deleted = deleted
        self.entryPoint = entryPoint
        self.maxLevel = maxLevel
        self.random = random
    }
}

public struct VectorHit: Sendable, Hashable {
    public var id: UInt32
    public var distance: Float
}

/// An HNSW index over float32 vectors of one dimension. Thread-safe: searches run concurrently
/// with each other; an insert or delete takes the write lock (readers-writer lock).
public final class HNSWIndex: @unchecked Sendable {
    public let dimension: Int
    public let metric: VectorMetric
    public let parameters: HNSWParameters

    // Guarded by `lock`.
    private var vectors: [Float] = []
    private var levels: [UInt8] = []
    /// neighbours[node][layer]
    private var neighbours: [[[UInt32]]] = []
    private var deleted: Set<UInt32> = []
    private var entryPoint: UInt32? = nil
    private var maxLevel = 0
    private var random: UInt64
    private let lock = ReadWriteLock()
    /// Reused visited-node lists, one per concurrent search (hnswlib's trick: a generation tag
    /// per node instead of a fresh hash set per search).
    private let visitedPool = Mutex<[VisitedList]>([])

    public init(dimension: Int, metric: VectorMetric, parameters: HNSWParameters = HNSWParameters()) {
        self.dimension = dimension
        self.metric = metric
        self.parameters = parameters
        self.random = parameters.seed | 1
    }

    public var count: Int { lock.reading { levels.count } }

    /// Adds a vector; its id is its position (0, 1, 2, ...), returned.
    @discardableResult
    public func insert(_ vector: [Float]) throws(VectorIndexError) -> UInt32 {
        let prepared = try prepare(vector)
        return lock.writing { insertLocked(prepared) }
    }

    /// Marks an id deleted: it is never returned again (the graph keeps it for routing until a
    /// rebuild drops it).
    public func delete(_ id: UInt32) {
        lock.writing { _ = deleted.insert(id) }
    }

    /// The `k` nearest live vectors, searching with candidate list size `ef` (at least k).
    /// `allowed` restricts results to ids it accepts; with few allowed ids the search is exact.
    public func search(_ query: [Float], k: Int, ef: Int, allowed: ((UInt32) -> Bool)? = nil,
                       allowedFraction: Double? = nil) throws(VectorIndexError) -> [VectorHit] {
        let prepared = try prepare(query)
        return lock.reading {
            guard let entry = entryPoint, k > 0 else { return [] }
            // A very selective filter starves the graph walk of accepted neighbours: go exact.
            if allowed != nil, let fraction = allowedFraction, fraction < 0.02 {
                return exactLocked(prepared, k: k, allowed: allowed)
            }
            var current = entry
            var currentDistance = distance(prepared, current)
            if maxLevel > 0 {
                for layer in stride(from: maxLevel, to: 0, by: -1) {
                    (current, currentDistance) = greedy(prepared, from: current, distance: currentDistance, layer: layer)
                }
            }
            var ef = max(ef, k)
            if allowed != nil { ef = max(ef, k * 4) }
            let found = searchLayer(prepared, entry: current, entryDistance: currentDistance, ef: ef, layer: 0) { id in
                !self.deleted.contains(id) && (allowed?(id) ?? true)
            }
            return Array(found.prefix(k))
        }
    }

    /// The graph as values, to persist an index (segments store it next to their vectors).
    public func snapshot() -> HNSWGraph {
        lock.reading {
            HNSWGraph(levels: levels, neighbours: neighbours, deleted: deleted.sorted(), entryPoint: entryPoint, maxLevel: maxLevel, random: random)
        }
    }

    /// An index restored from `vectors` (as inserted, in id order) and a graph `snapshot()` took
    /// of an index with the same dimension, metric and parameters. A graph that does not fit the
    /// vectors (counts, levels, neighbour ids) is `.invalidGraph`.
    public convenience init(dimension: Int, metric: VectorMetric, parameters: HNSWParameters, vectors: [[Float]], graph: HNSWGraph) throws(VectorIndexError) {
        self.init(dimension: dimension, metric: metric, parameters: parameters)
        let count = vectors.count
        guard graph.levels.count == count, graph.neighbours.count == count, graph.maxLevel >= 0, graph.maxLevel <= 30,
              (graph.entryPoint.map { Int($0) < count } ?? (count == 0)) else {
            throw .invalidGraph("graph of \(graph.levels.count) nodes for \(count) vectors")
        }
        for node in 0..<count {
            guard graph.neighbours[node].count == Int(graph.levels[node]) + 1,
                  graph.neighbours[node].allSatisfy({ layer in layer.allSatisfy { Int($0) < count } }) else {
                throw .invalidGraph("node \(node) has neighbours that do not fit the graph")
            }
        }
        var prepared: [Float] = []
        prepared.reserveCapacity(count * dimension)
        for vector in vectors { prepared.append(contentsOf: try prepare(vector)) }
        lock.writing {
            self.vectors = prepared
            levels = graph.levels
            neighbours = graph.neighbours
            deleted = Set(graph.deleted.filter { Int($0) < count })
            entryPoint = graph.entryPoint
            maxLevel = graph.maxLevel
            random = graph.random
        }
    }

    /// Brute force over every live vector: the ground truth.
    public func exactSearch(_ query: [Float], k: Int, allowed: ((UInt32) -> Bool)? = nil) throws(VectorIndexError) -> [VectorHit] {
        let prepared = try prepare(query)
        return lock.reading { exactLocked(prepared, k: k, allowed: allowed) }
    }

    // MARK: - Internals (under the lock)

    private func prepare(_ vector: [Float]) throws(VectorIndexError) -> [Float] {
        guard vector.count == dimension else { throw .wrongDimension(expected: dimension, actual: vector.count) }
        if let bad = vector.firstIndex(where: { !$0.isFinite }) { throw .notFinite(position: bad) }
        guard metric == .cosine else { return vector }
        let norm = vector.withUnsafeBufferPointer { DistanceKernels.dot($0.baseAddress!, $0.baseAddress!, dimension: dimension) }.squareRoot()
        return norm > 0 ? vector.map { $0 / norm } : vector
    }

    @inline(__always)
    private func distance(_ query: [Float], _ node: UInt32) -> Float {
        query.withUnsafeBufferPointer { q in
            vectors.withUnsafeBufferPointer { v in
                let b = v.baseAddress! + Int(node) * dimension
                switch metric {
                case .l2: return DistanceKernels.l2Squared(q.baseAddress!, b, dimension: dimension)
                case .cosine: return 1 - DistanceKernels.dot(q.baseAddress!, b, dimension: dimension)
                case .innerProduct: return -DistanceKernels.dot(q.baseAddress!, b, dimension: dimension)
                }
            }
        }
    }

    /// Distance between two stored vectors, without copying either.
    private func distance(_ a: UInt32, _ b: UInt32) -> Float {
        vectors.withUnsafeBufferPointer { v in
            let x = v.baseAddress! + Int(a) * dimension, y = v.baseAddress! + Int(b) * dimension
            switch metric {
            case .l2: return DistanceKernels.l2Squared(x, y, dimension: dimension)
            case .cosine: return 1 - DistanceKernels.dot(x, y, dimension: dimension)
            case .innerProduct: return -DistanceKernels.dot(x, y, dimension: dimension)
            }
        }
    }

    private func randomLevel() -> Int {
        // xorshift64*; uniform in (0, 1]
        random ^= random >> 12; random ^= random << 25; random ^= random >> 27
        let u = Double((random &* 0x2545_F491_4F6C_DD1D) >> 11) / Double(1 << 53)
        let mL = 1 / log(Double(parameters.m))
        return min(Int(-log(max(u, 1e-300)) * mL), 30)
    }

    private func insertLocked(_ vector: [Float]) -> UInt32 {
        let id = UInt32(levels.count)
        let level = randomLevel()
        vectors.append(contentsOf: vector)
        levels.append(UInt8(level))
        neighbours.append(Array(repeating: [], count: level + 1))
        guard let entry = entryPoint else {
            entryPoint = id
            maxLevel = level
            return id
        }
        var current = entry
        var currentDistance = distance(vector, current)
        if maxLevel > level {
            for layer in stride(from: maxLevel, to: level, by: -1) {
                (current, currentDistance) = greedy(vector, from: current, distance: currentDistance, layer: layer)
            }
        }
        for layer in stride(from: min(level, maxLevel), through: 0, by: -1) {
            let candidates = searchLayer(vector, entry: current, entryDistance: currentDistance, ef: parameters.efConstruction, layer: layer) { _ in true }
            let limit = layer == 0 ? 2 * parameters.m : parameters.m
            let chosen = selectNeighbours(candidates, limit: parameters.m)
            neighbours[Int(id)][layer] = chosen.map(\.id)
            for neighbour in chosen {
                var list = neighbours[Int(neighbour.id)][layer]
                list.append(id)
                if list.count > limit {
                    let scored = list.map { VectorHit(id: $0, distance: distance(neighbour.id, $0)) }.sorted { $0.distance < $1.distance }
                    list = selectNeighbours(scored, limit: limit).map(\.id)
                }
                neighbours[Int(neighbour.id)][layer] = list
            }
            if let best = candidates.first { current = best.id; currentDistance = best.distance }
        }
        if level > maxLevel {
            maxLevel = level
            entryPoint = id
        }
        return id
    }

    /// The paper's heuristic: take candidates nearest first, keeping one only when it is closer
    /// to the new node than to every neighbour kept so far (spreads links across directions).
    private func selectNeighbours(_ candidates: [VectorHit], limit: Int) -> [VectorHit] {
        var kept: [VectorHit] = []
        for candidate in candidates {
            if kept.count >= limit { break }
            if kept.allSatisfy({ distance(candidate.id, $0.id) > candidate.distance }) { kept.append(candidate) }
        }
        return kept
    }

    private func greedy(_ query: [Float], from start: UInt32, distance startDistance: Float, layer: Int) -> (UInt32, Float) {
        var current = start, best = startDistance
        var improved = true
        while improved {
            improved = false
            for neighbour in neighbours[Int(current)][layer] {
                let d = distance(query, neighbour)
                if d < best { best = d; current = neighbour; improved = true }
            }
        }
        return (current, best)
    }

    /// Best-first search of one layer with `ef` candidates; returns accepted nodes nearest first.
    private func searchLayer(_ query: [Float], entry: UInt32, entryDistance: Float, ef: Int, layer: Int,
                             accept: (UInt32) -> Bool) -> [VectorHit] {
        let visited = visitedPool.withLock { $0.popLast() } ?? VisitedList()
        defer { visitedPool.withLock { $0.append(visited) } }
        visited.reset(count: levels.count)
        _ = visited.mark(entry)
        var candidates = MinHeap()  // to expand, nearest first
        var results = MaxHeap()     // best ef accepted, farthest on top
        candidates.push(VectorHit(id: entry, distance: entryDistance))
        if accept(entry) { results.push(VectorHit(id: entry, distance: entryDistance)) }
        var bound = results.count >= ef ? (results.top?.distance ?? .infinity) : Float.infinity
        while let nearest = candidates.pop() {
            if nearest.distance > bound && results.count >= ef { break }
            for neighbour in neighbours[Int(nearest.id)][layer] where visited.mark(neighbour) {
                let d = distance(query, neighbour)
                if results.count < ef || d < bound {
                    candidates.push(VectorHit(id: neighbour, distance: d))
                    if accept(neighbour) {
                        results.push(VectorHit(id: neighbour, distance: d))
                        if results.count > ef { _ = results.pop() }
                    }
                    bound = results.count >= ef ? (results.top?.distance ?? .infinity) : Float.infinity
                }
            }
        }
        return results.sortedAscending()
    }

    private func exactLocked(_ query: [Float], k: Int, allowed: ((UInt32) -> Bool)?) -> [VectorHit] {
        var results = MaxHeap()
        for id in 0..<UInt32(levels.count) where !deleted.contains(id) && (allowed?(id) ?? true) {
            let d = distance(query, id)
            if results.count < k { results.push(VectorHit(id: id, distance: d)) }
            else if let top = results.top, d < top.distance || (d == top.distance && id < top.id) {
                _ = results.pop()
                results.push(VectorHit(id: id, distance: d))
            }
        }
        return results.sortedAscending()
    }
}

/// Nodes seen by one search: `tags[node] == generation`. Resetting bumps the generation, so a
/// search costs nothing per node it does not touch.
final class VisitedList: @unchecked Sendable {  // used by one search at a time (taken from the pool)
    private var tags: [UInt16] = []
    private var generation: UInt16 = 0

    func reset(count: Int) {
        if tags.count < count { tags.append(contentsOf: repeatElement(0, count: count - tags.count)) }
        generation &+= 1
        if generation == 0 {  // wrapped: clear once every 65,535 searches
            for i in tags.indices { tags[i] = 0 }
            generation = 1
        }
    }

    /// Marks `node`; true when it was not yet seen in this search.
    @inline(__always)
    func mark(_ node: UInt32) -> Bool {
        let i = Int(node)
        if tags[i] == generation { return false }
        tags[i] = generation
        return true
    }
}

/// Binary heaps on (distance, id); ties broken by id so results are deterministic.
struct MinHeap {
    var items: [VectorHit] = []
    var count: Int { items.count }
    static func before(_ a: VectorHit, _ b: VectorHit) -> Bool { a.distance < b.distance || (a.distance == b.distance && a.id < b.id) }

    mutating func push(_ item: VectorHit) {
        items.append(item)
        var i = items.count - 1
        while i > 0, Self.before(items[i], items[(i - 1) / 2]) { items.swapAt(i, (i - 1) / 2); i = (i - 1) / 2 }
    }

    mutating func pop() -> VectorHit? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count, Self.before(items[l], items[m]) { m = l }
            if r < items.count, Self.before(items[r], items[m]) { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return top
    }
}

struct MaxHeap {
    private var inner = MinHeap()  // on negated order
    var count: Int { inner.count }
    var top: VectorHit? { inner.items.first.map { VectorHit(id: ~$0.id, distance: -$0.distance) } }
    mutating func push(_ item: VectorHit) { inner.push(VectorHit(id: ~item.id, distance: -item.distance)) }
    mutating func pop() -> VectorHit? { inner.pop().map { VectorHit(id: ~$0.id, distance: -$0.distance) } }
    func sortedAscending() -> [VectorHit] {
        inner.items.map { VectorHit(id: ~$0.id, distance: -$0.distance) }.sorted { MinHeap.before($0, $1) }
    }
}

/// pthread readers-writer lock: many searches at once, one writer alone.
final class ReadWriteLock: @unchecked Sendable {
    private var lock = pthread_rwlock_t()
    init() { pthread_rwlock_init(&lock, nil) }
    deinit { pthread_rwlock_destroy(&lock) }
    func reading<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(&lock)
        defer { pthread_rwlock_unlock(&lock) }
        return try body()
    }
    func writing<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(&lock)
        defer { pthread_rwlock_unlock(&lock) }
        return try body()
    }
}
