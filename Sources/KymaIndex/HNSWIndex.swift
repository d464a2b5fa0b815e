// HNSW (Malkov & Yashunin, 2016): a multi-layer proximity graph for approximate nearest
// neighbours. Level of a new node ~ floor(-ln(U) * mL) with mL = 1/ln(M); layer 0 keeps up to
// 2M neighbours, upper layers M; neighbours are chosen with the paper's heuristic (Algorithm 4).
// Exact (brute-force) search over the same vectors is the ground truth and the fallback for very
// selective filters.
//
// Layout (as hnswlib's): layer 0's links live in one flat array, a fixed slot of 2M + 1 words
// per node (a count, then the ids), so a hop is an offset, not a pointer chase and a retain;
// vectors live in one flat array. Upper layers (about 1/M of the nodes) keep a small array per
// node. The search loop runs over raw pointers, prefetches the next neighbour's vector while it
// scores this one, and is specialised per metric.

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
    /// `.int8`: searches walk the graph on int8 codes and re-rank by exact distance.
    public var quantization: VectorQuantization

    public init(m: Int = 16, efConstruction: Int = 200, seed: UInt64 = 42, quantization: VectorQuantization = .none) {
        self.m = max(2, m)
        self.efConstruction = max(1, efConstruction)
        self.seed = seed
        self.quantization = quantization
    }
}

public enum VectorIndexError: Error, Sendable, Hashable, CustomStringConvertible {
    case wrongDimension(expected: Int, actual: Int)
    case notFinite(position: Int)
    /// A vector whose values are finite but whose distances overflow float32 (a component
    /// beyond about 1e18 in magnitude): it would score `inf` against everything.
    case outOfRange(position: Int, value: Float)
    /// An all-zero vector in a cosine index has no direction.
    case zeroVector
    case invalidGraph(String)

    public var description: String {
        switch self {
        case .invalidGraph(let reason): "stored HNSW graph is invalid: \(reason)"
        case .wrongDimension(let expected, let actual): "vector has dimension \(actual), the index has \(expected)"
        case .notFinite(let position): "vector component \(position) is NaN or infinite"
        case .outOfRange(let position, let value):
            "vector component \(position) (\(value)) is too large: components must be within ±\(HNSWIndex.maxComponent) so distances stay finite"
        case .zeroVector: "an all-zero vector has no direction: cosine similarity is undefined for it"
        }
    }
}

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

/// A search result: the id given at insert and the distance under the index's metric.
public struct VectorHit: Sendable, Hashable {
    public var id: UInt32
    public var distance: Float

    public init(id: UInt32, distance: Float) {
        self.id = id
        self.distance = distance
    }
}

/// An HNSW index over float32 vectors of one dimension. Thread-safe: searches run concurrently
/// with each other; an insert or delete takes the write lock (readers-writer lock).
public final class HNSWIndex: @unchecked Sendable {
    public let dimension: Int
    public let metric: VectorMetric
    public let parameters: HNSWParameters
    /// The largest component magnitude accepted: the squared distance of two vectors of this
    /// magnitude in 65,536 dimensions stays below float32's maximum.
    public static let maxComponent: Float = 1e16

    // Guarded by `lock`.
    private var vectors: [Float] = []
    private var levels: [UInt8] = []
    /// Layer 0: `level0Stride` words per node, a count then up to 2M ids.
    private var level0: [UInt32] = []
    /// Layers 1...level of each node, `upperStride` words per layer (a count then up to M ids);
    /// empty for the nodes that live on layer 0 only.
    private var upper: [[UInt32]] = []
    private var deletedBits: [UInt64] = []
    private var deletedCount = 0
    private var entryPoint: UInt32? = nil
    private var maxLevel = 0
    private var random: UInt64
    /// With `.int8`: the ranges (trained once `quantizerTraining` vectors are in) and each
    /// vector's codes, `dimension` bytes per vector.
    private var quantizer: ScalarQuantizer? = nil
    private var codes: [UInt8] = []
    static let quantizerTraining = 1024
    private let lock = ReadWriteLock()
    private let level0Stride: Int
    private let upperStride: Int
    /// Reused per-search scratch (visited tags and heaps), one per concurrent search.
    private let scratchPool = Mutex<[SearchScratch]>([])

    public init(dimension: Int, metric: VectorMetric, parameters: HNSWParameters = HNSWParameters()) {
        self.dimension = dimension
        self.metric = metric
        self.parameters = parameters
        self.random = parameters.seed | 1
        self.level0Stride = 2 * parameters.m + 1
        self.upperStride = parameters.m + 1
    }

    public var count: Int { lock.reading { levels.count } }

    /// Bytes the index holds per vector: the vector, its layer-0 links and its share of the
    /// upper layers (what `memoryBytes / count` reports, beside hnswlib's per-element size).
    public var memoryBytes: Int {
        lock.reading {
            vectors.count * 4 + codes.count + level0.count * 4 + levels.count + upper.reduce(0) { $0 + $1.count * 4 } + deletedBits.count * 8
        }
    }

    /// Adds a vector; its id is its position (0, 1, 2, ...), returned.
    @discardableResult
    public func insert(_ vector: [Float]) throws(VectorIndexError) -> UInt32 {
        let prepared = try prepare(vector)
        return lock.writing { insertLocked(prepared) }
    }

    /// Marks an id deleted: it is never returned again (the graph keeps it for routing until a
    /// rebuild drops it).
    public func delete(_ id: UInt32) {
        lock.writing {
            guard Int(id) < levels.count else { return }
            let word = Int(id >> 6), bit = UInt64(1) << UInt64(id & 63)
            if deletedBits[word] & bit == 0 {
                deletedBits[word] |= bit
                deletedCount += 1
            }
        }
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
            var ef = max(ef, k)
            if allowed != nil { ef = max(ef, k * 4) }
            let found = prepared.withUnsafeBufferPointer { q -> [VectorHit] in
                let query = q.baseAddress!
                var current = entry
                var currentDistance = distance(query, current)
                if maxLevel > 0 {
                    for layer in stride(from: maxLevel, to: 0, by: -1) {
                        (current, currentDistance) = greedy(query, from: current, distance: currentDistance, layer: layer)
                    }
                }
                let accept: ((UInt32) -> Bool)? = allowed != nil || deletedCount > 0 ? { id in !self.isDeleted(id) && (allowed?(id) ?? true) } : nil
                guard let quantizer else {
                    return vectors.withUnsafeBufferPointer { v in
                        searchBase(FloatDistance(metric: metric, query: query, base: v.baseAddress!, dimension: dimension),
                                   entry: current, ef: ef, keep: k, accept: accept)
                    }
                }
                // On codes, then the candidates re-ranked by exact distance.
                let mapped = metric == .l2 ? quantizer.map(query, dimension: dimension) : Array(UnsafeBufferPointer(start: query, count: dimension))
                let candidates = mapped.withUnsafeBufferPointer { m in
                    codes.withUnsafeBufferPointer { c in
                        searchBase(CodeDistance(metric: metric, query: m.baseAddress!, base: c.baseAddress!, dimension: dimension,
                                                scale: quantizer.scale, bias: quantizer.dotBias(query, dimension: dimension)),
                                   entry: current, ef: ef, keep: ef, accept: accept)
                    }
                }
                var exact = candidates.map { VectorHit(id: $0.id, distance: distance(query, $0.id)) }
                exact.sort { NearestOnTop.above($0, $1) }
                return Array(exact.prefix(k))
            }
            return found
        }
    }

    /// The graph as values, to persist an index (segments store it next to their vectors).
    public func snapshot() -> HNSWGraph {
        lock.reading {
            var neighbours: [[[UInt32]]] = []
            neighbours.reserveCapacity(levels.count)
            for node in 0..<levels.count {
                var layers: [[UInt32]] = [links(UInt32(node), 0)]
                for layer in 0..<Int(levels[node]) { layers.append(links(UInt32(node), layer + 1)) }
                neighbours.append(layers)
            }
            let deleted = (0..<UInt32(levels.count)).filter(isDeleted)
            return HNSWGraph(levels: levels, neighbours: neighbours, deleted: deleted, entryPoint: entryPoint, maxLevel: maxLevel, random: random)
        }
    }

    /// An index restored from `vectors` (as inserted, in id order) and a graph `snapshot()` took
    /// of an index with the same dimension, metric and parameters. A graph that does not fit the
    /// vectors (counts, levels, neighbour ids, list lengths) is `.invalidGraph`.
    public convenience init(dimension: Int, metric: VectorMetric, parameters: HNSWParameters, vectors: [[Float]], graph: HNSWGraph) throws(VectorIndexError) {
        self.init(dimension: dimension, metric: metric, parameters: parameters)
        let count = vectors.count
        guard graph.levels.count == count, graph.neighbours.count == count, graph.maxLevel >= 0, graph.maxLevel <= 30,
              (graph.entryPoint.map { Int($0) < count } ?? (count == 0)) else {
            throw .invalidGraph("graph of \(graph.levels.count) nodes for \(count) vectors")
        }
        for node in 0..<count {
            let layers = graph.neighbours[node]
            guard layers.count == Int(graph.levels[node]) + 1,
                  layers.enumerated().allSatisfy({ layer, ids in
                      ids.count <= (layer == 0 ? 2 * parameters.m : parameters.m) && ids.allSatisfy { Int($0) < count }
                  }) else {
                throw .invalidGraph("node \(node) has neighbours that do not fit the graph")
            }
        }
        var prepared: [Float] = []
        prepared.reserveCapacity(count * dimension)
        for vector in vectors { prepared.append(contentsOf: try prepare(vector)) }
        lock.writing {
            self.vectors = prepared
            levels = graph.levels
            level0 = [UInt32](repeating: 0, count: count * level0Stride)
            upper = graph.levels.map { [UInt32](repeating: 0, count: Int($0) * upperStride) }
            for node in 0..<count {
                for (layer, ids) in graph.neighbours[node].enumerated() { setLinks(UInt32(node), layer, ids) }
            }
            deletedBits = [UInt64](repeating: 0, count: (count + 63) / 64)
            for id in graph.deleted where Int(id) < count {
                let word = Int(id >> 6), bit = UInt64(1) << UInt64(id & 63)
                if deletedBits[word] & bit == 0 { deletedBits[word] |= bit; deletedCount += 1 }
            }
            entryPoint = graph.entryPoint
            maxLevel = graph.maxLevel
            random = graph.random
            if parameters.quantization == .int8 && count > 0 { trainQuantizer() }
        }
    }

    /// Brute force over every live vector: the ground truth.
    public func exactSearch(_ query: [Float], k: Int, allowed: ((UInt32) -> Bool)? = nil) throws(VectorIndexError) -> [VectorHit] {
        let prepared = try prepare(query)
        return lock.reading { exactLocked(prepared, k: k, allowed: allowed) }
    }

    // MARK: - Internals (under the lock)

    /// Checks that `vector` can be stored or searched with in an index of `dimension` and
    /// `metric`: the right length, finite components within ±`maxComponent` (larger ones make
    /// distances overflow to inf, so every ranking would be arbitrary), and a direction for cosine.
    public static func validate(_ vector: [Float], dimension: Int, metric: VectorMetric) throws(VectorIndexError) {
        guard vector.count == dimension else { throw .wrongDimension(expected: dimension, actual: vector.count) }
        for (position, value) in vector.enumerated() {
            guard value.isFinite else { throw .notFinite(position: position) }
            guard abs(value) <= maxComponent else { throw .outOfRange(position: position, value: value) }
        }
        if metric == .cosine, vector.allSatisfy({ $0 == 0 }) { throw .zeroVector }
    }

    private func prepare(_ vector: [Float]) throws(VectorIndexError) -> [Float] {
        try Self.validate(vector, dimension: dimension, metric: metric)
        guard metric == .cosine else { return vector }
        // The norm in double: float32 squares of large components would overflow.
        let norm = vector.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        return vector.map { Float(Double($0) / norm) }
    }

    @inline(__always)
    private func isDeleted(_ id: UInt32) -> Bool {
        deletedBits[Int(id >> 6)] & (UInt64(1) << UInt64(id & 63)) != 0
    }

    /// The neighbours of `node` on `layer`, copied out (inserts and snapshots; searches read
    /// the storage in place).
    private func links(_ node: UInt32, _ layer: Int) -> [UInt32] {
        if layer == 0 {
            let start = Int(node) * level0Stride
            return Array(level0[(start + 1)..<(start + 1 + Int(level0[start]))])
        }
        let list = upper[Int(node)]
        let start = (layer - 1) * upperStride
        return Array(list[(start + 1)..<(start + 1 + Int(list[start]))])
    }

    private func setLinks(_ node: UInt32, _ layer: Int, _ ids: [UInt32]) {
        if layer == 0 {
            let start = Int(node) * level0Stride
            level0[start] = UInt32(ids.count)
            for (i, id) in ids.enumerated() { level0[start + 1 + i] = id }
        } else {
            let start = (layer - 1) * upperStride
            upper[Int(node)][start] = UInt32(ids.count)
            for (i, id) in ids.enumerated() { upper[Int(node)][start + 1 + i] = id }
        }
    }

    @inline(__always)
    private func distance(_ query: UnsafePointer<Float>, _ node: UInt32) -> Float {
        vectors.withUnsafeBufferPointer { v in
            Self.distance(metric, query, v.baseAddress! + Int(node) * dimension, dimension)
        }
    }

    /// Distance between two stored vectors, without copying either.
    private func distance(_ a: UInt32, _ b: UInt32) -> Float {
        vectors.withUnsafeBufferPointer { v in
            Self.distance(metric, v.baseAddress! + Int(a) * dimension, v.baseAddress! + Int(b) * dimension, dimension)
        }
    }

    @inline(__always)
    static func distance(_ metric: VectorMetric, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ dimension: Int) -> Float {
        switch metric {
        case .l2: DistanceKernels.l2Squared(a, b, dimension: dimension)
        case .cosine: 1 - DistanceKernels.dot(a, b, dimension: dimension)
        case .innerProduct: -DistanceKernels.dot(a, b, dimension: dimension)
        }
    }

    /// Learns the code ranges from the first `quantizerTraining` vectors (by id, so an index
    /// restored from a snapshot trains exactly as the one that grew by inserts) and encodes all.
    private func trainQuantizer() {
        let count = levels.count
        let sample = min(count, Self.quantizerTraining)
        let trained = vectors.withUnsafeBufferPointer { ScalarQuantizer(vectors: $0, count: sample, dimension: dimension) }
        codes = []
        codes.reserveCapacity(count * dimension)
        vectors.withUnsafeBufferPointer { v in
            for node in 0..<count { trained.encode(v.baseAddress! + node * dimension, dimension: dimension, into: &codes) }
        }
        quantizer = trained
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
        level0.append(contentsOf: repeatElement(0, count: level0Stride))
        upper.append([UInt32](repeating: 0, count: level * upperStride))
        if levels.count > deletedBits.count * 64 { deletedBits.append(0) }
        if parameters.quantization == .int8 {
            if let quantizer {
                vector.withUnsafeBufferPointer { quantizer.encode($0.baseAddress!, dimension: dimension, into: &codes) }
            } else if levels.count >= Self.quantizerTraining {
                trainQuantizer()
            }
        }
        guard let entry = entryPoint else {
            entryPoint = id
            maxLevel = level
            return id
        }
        vector.withUnsafeBufferPointer { q in
            let query = q.baseAddress!
            var current = entry
            var currentDistance = distance(query, current)
            if maxLevel > level {
                for layer in stride(from: maxLevel, to: level, by: -1) {
                    (current, currentDistance) = greedy(query, from: current, distance: currentDistance, layer: layer)
                }
            }
            for layer in stride(from: min(level, maxLevel), through: 0, by: -1) {
                let candidates = layer == 0
                    ? vectors.withUnsafeBufferPointer { v in
                        searchBase(FloatDistance(metric: metric, query: query, base: v.baseAddress!, dimension: dimension),
                                   entry: current, ef: parameters.efConstruction, keep: parameters.efConstruction, accept: nil)
                    }
                    : searchUpper(query, entry: current, entryDistance: currentDistance, ef: parameters.efConstruction, layer: layer)
                let limit = layer == 0 ? 2 * parameters.m : parameters.m
                let chosen = selectNeighbours(candidates, limit: parameters.m)
                setLinks(id, layer, chosen.map(\.id))
                for neighbour in chosen {
                    var list = links(neighbour.id, layer)
                    if list.count < limit {
                        list.append(id)
                    } else {
                        // Full: keep the best `limit` of the old list and the new node by the heuristic.
                        var scored = list.map { VectorHit(id: $0, distance: distance(neighbour.id, $0)) }
                        scored.append(VectorHit(id: id, distance: distance(neighbour.id, id)))
                        scored.sort { NearestOnTop.above($0, $1) }
                        list = selectNeighbours(scored, limit: limit).map(\.id)
                    }
                    setLinks(neighbour.id, layer, list)
                }
                if let best = candidates.first { current = best.id; currentDistance = best.distance }
            }
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
        kept.reserveCapacity(limit)
        for candidate in candidates {
            if kept.count >= limit { break }
            if kept.allSatisfy({ distance(candidate.id, $0.id) > candidate.distance }) { kept.append(candidate) }
        }
        return kept
    }

    private func greedy(_ query: UnsafePointer<Float>, from start: UInt32, distance startDistance: Float, layer: Int) -> (UInt32, Float) {
        var current = start, best = startDistance
        var improved = true
        while improved {
            improved = false
            for neighbour in links(current, layer) {
                let d = distance(query, neighbour)
                if d < best { best = d; current = neighbour; improved = true }
            }
        }
        return (current, best)
    }

    /// Best-first search of an upper layer (inserts only; few nodes live there).
    private func searchUpper(_ query: UnsafePointer<Float>, entry: UInt32, entryDistance: Float, ef: Int, layer: Int) -> [VectorHit] {
        let scratch = takeScratch()
        defer { giveBack(scratch) }
        scratch.visited.reset(count: levels.count)
        _ = scratch.visited.mark(entry)
        var candidates = scratch.candidates, results = scratch.results
        candidates.removeAll()
        results.removeAll()
        defer { scratch.candidates = candidates; scratch.results = results }
        candidates.push(VectorHit(id: entry, distance: entryDistance))
        results.push(VectorHit(id: entry, distance: entryDistance))
        while let nearest = candidates.pop() {
            if let worst = results.top, nearest.distance > worst.distance, results.count >= ef { break }
            for neighbour in links(nearest.id, layer) where scratch.visited.mark(neighbour) {
                let d = distance(query, neighbour)
                if results.count < ef || d < (results.top?.distance ?? .infinity) {
                    candidates.push(VectorHit(id: neighbour, distance: d))
                    results.push(VectorHit(id: neighbour, distance: d))
                    if results.count > ef { _ = results.pop() }
                }
            }
        }
        return results.drainNearest(ef)
    }

    /// Best-first search of layer 0 with `ef` candidates, by `distance`; returns the `keep`
    /// nearest accepted nodes, nearest first. The hot loop: raw pointers into the flat links, the
    /// next neighbour's vector prefetched while this one is scored; specialised per distance.
    private func searchBase<D: NodeDistance>(_ distance: D, entry: UInt32, ef: Int, keep: Int, accept: ((UInt32) -> Bool)?) -> [VectorHit] {
        let scratch = takeScratch()
        defer { giveBack(scratch) }
        scratch.visited.reset(count: levels.count)
        // The heaps as locals for the loop (a class's stored property is checked for exclusive
        // access at run time on every mutation: a tenth of the search), put back after.
        var candidates = scratch.candidates, results = scratch.results
        candidates.removeAll()
        results.removeAll()
        defer { scratch.candidates = candidates; scratch.results = results }
        let stride = level0Stride
        return level0.withUnsafeBufferPointer { linkBuffer in
            scratch.visited.withTags { tags, generation in
                let links = linkBuffer.baseAddress!
                let entryDistance = distance(entry)
                tags[Int(entry)] = generation
                candidates.push(VectorHit(id: entry, distance: entryDistance))
                if accept?(entry) ?? true { results.push(VectorHit(id: entry, distance: entryDistance)) }
                var bound = results.count >= ef ? (results.top?.distance ?? .infinity) : Float.infinity
                while let nearest = candidates.pop() {
                    if nearest.distance > bound && results.count >= ef { break }
                    let list = links + Int(nearest.id) * stride
                    let count = Int(list.pointee)
                    if count > 0 { DistanceKernels.prefetch(distance.address(list[1])) }
                    var i = 0
                    while i < count {
                        i += 1  // list[1...count] are the ids
                        let neighbour = list[i]
                        // The next one's vector and visited tag while this one is scored.
                        if i < count {
                            DistanceKernels.prefetch(distance.address(list[i + 1]))
                            DistanceKernels.prefetch(tags + Int(list[i + 1]))
                        }
                        if tags[Int(neighbour)] == generation { continue }
                        tags[Int(neighbour)] = generation
                        let d = distance(neighbour)
                        if results.count < ef || d < bound {
                            candidates.push(VectorHit(id: neighbour, distance: d))
                            if accept?(neighbour) ?? true {
                                results.push(VectorHit(id: neighbour, distance: d))
                                if results.count > ef { _ = results.pop() }
                            }
                            bound = results.count >= ef ? (results.top?.distance ?? .infinity) : Float.infinity
                        }
                    }
                }
                return results.drainNearest(keep)
            }
        }
    }

    private func takeScratch() -> SearchScratch {
        scratchPool.withLock { $0.popLast() } ?? SearchScratch()
    }

    private func giveBack(_ scratch: SearchScratch) {
        scratchPool.withLock { $0.append(scratch) }
    }

    private func exactLocked(_ query: [Float], k: Int, allowed: ((UInt32) -> Bool)?) -> [VectorHit] {
        var results = HitHeap<FarthestOnTop>()
        query.withUnsafeBufferPointer { q in
            for id in 0..<UInt32(levels.count) where !isDeleted(id) && (allowed?(id) ?? true) {
                let d = distance(q.baseAddress!, id)
                if results.count < k { results.push(VectorHit(id: id, distance: d)) }
                else if let top = results.top, d < top.distance || (d == top.distance && id < top.id) {
                    _ = results.pop()
                    results.push(VectorHit(id: id, distance: d))
                }
            }
        }
        return results.drainNearest(k)
    }
}

/// How a search scores a node: the query against its float vector or its int8 codes.
protocol NodeDistance {
    func callAsFunction(_ node: UInt32) -> Float
    /// Where the node's data starts (for prefetching).
    func address(_ node: UInt32) -> UnsafeRawPointer
}

struct FloatDistance: NodeDistance {
    let metric: VectorMetric
    let query: UnsafePointer<Float>
    let base: UnsafePointer<Float>
    let dimension: Int

    @inline(__always)
    func callAsFunction(_ node: UInt32) -> Float { HNSWIndex.distance(metric, query, base + Int(node) * dimension, dimension) }

    @inline(__always)
    func address(_ node: UInt32) -> UnsafeRawPointer { UnsafeRawPointer(base + Int(node) * dimension) }
}

/// Approximately the float distance: l2 as scale² Σ (q'-c)² with q' the query in code space;
/// dot products as bias + scale Σ q·c.
struct CodeDistance: NodeDistance {
    let metric: VectorMetric
    let query: UnsafePointer<Float>
    let base: UnsafePointer<UInt8>
    let dimension: Int
    let scale: Float
    let bias: Float

    @inline(__always)
    func callAsFunction(_ node: UInt32) -> Float {
        let code = base + Int(node) * dimension
        switch metric {
        case .l2: return scale * scale * CodeKernels.l2(query, code, dimension: dimension)
        case .cosine: return 1 - (bias + scale * CodeKernels.dot(query, code, dimension: dimension))
        case .innerProduct: return -(bias + scale * CodeKernels.dot(query, code, dimension: dimension))
        }
    }

    @inline(__always)
    func address(_ node: UInt32) -> UnsafeRawPointer { UnsafeRawPointer(base + Int(node) * dimension) }
}

/// One search's reusable state: visited tags and the two heaps (taken from a pool, so a search
/// allocates nothing once warm).
final class SearchScratch: @unchecked Sendable {  // used by one search at a time
    let visited = VisitedList()
    var candidates = HitHeap<NearestOnTop>()
    var results = HitHeap<FarthestOnTop>()
}

/// Nodes seen by one search: `tags[node] == generation`. Resetting bumps the generation, so a
/// search costs nothing per node it does not touch.
final class VisitedList: @unchecked Sendable {  // used by one search at a time (taken from the pool)
    private var tags: [UInt16] = []
    private var generation: UInt16 = 0

    func reset(count: Int) {
        if tags.count < count { tags.append(contentsOf: repeatElement(0, count: max(count, tags.count * 2) - tags.count)) }
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

    /// The tags in place and this search's generation, for the search loop.
    @inline(__always)
    func withTags<T>(_ body: (UnsafeMutablePointer<UInt16>, UInt16) -> T) -> T {
        let generation = self.generation
        return tags.withUnsafeMutableBufferPointer { body($0.baseAddress!, generation) }
    }
}

/// The order of a heap of hits; ties broken by id so results are deterministic.
protocol HitOrder {
    /// Whether `a` belongs above `b`.
    static func above(_ a: VectorHit, _ b: VectorHit) -> Bool
}

enum NearestOnTop: HitOrder {
    @inline(__always)
    static func above(_ a: VectorHit, _ b: VectorHit) -> Bool { a.distance < b.distance || (a.distance == b.distance && a.id < b.id) }
}

enum FarthestOnTop: HitOrder {
    @inline(__always)
    static func above(_ a: VectorHit, _ b: VectorHit) -> Bool { a.distance > b.distance || (a.distance == b.distance && a.id > b.id) }
}

/// A binary heap of hits over storage it owns (a class that frees it), used as a local value
/// in the search loop: no copy-on-write checks, no exclusivity checks, no bounds checks.
struct HitHeap<Order: HitOrder> {
    final class Storage {
        var base: UnsafeMutablePointer<VectorHit>
        var capacity: Int

        init(capacity: Int) {
            self.capacity = capacity
            base = .allocate(capacity: capacity)
        }

        deinit { base.deallocate() }
    }

    private var storage = Storage(capacity: 64)
    private var base: UnsafeMutablePointer<VectorHit>
    private(set) var count = 0

    init() { base = storage.base }

    var top: VectorHit? { count > 0 ? base[0] : nil }

    mutating func removeAll() { count = 0 }

    @inline(__always)
    mutating func push(_ item: VectorHit) {
        if count == storage.capacity { grow() }
        var i = count
        count += 1
        while i > 0 {
            let parent = (i - 1) >> 1
            guard Order.above(item, base[parent]) else { break }
            base[i] = base[parent]
            i = parent
        }
        base[i] = item
    }

    @inline(__always)
    mutating func pop() -> VectorHit? {
        guard count > 0 else { return nil }
        let top = base[0]
        count -= 1
        guard count > 0 else { return top }
        let last = base[count]
        var i = 0
        while true {
            let l = 2 * i + 1
            if l >= count { break }
            let r = l + 1
            let child = r < count && Order.above(base[r], base[l]) ? r : l
            guard Order.above(base[child], last) else { break }
            base[i] = base[child]
            i = child
        }
        base[i] = last
        return top
    }

    private mutating func grow() {
        let bigger = Storage(capacity: storage.capacity * 2)
        bigger.base.update(from: base, count: count)
        storage = bigger
        base = bigger.base
    }
}

extension HitHeap where Order == FarthestOnTop {
    /// The `k` nearest items, nearest first, emptying the heap (pops come farthest first).
    mutating func drainNearest(_ k: Int) -> [VectorHit] {
        while count > k { _ = pop() }
        var out = [VectorHit](repeating: VectorHit(id: 0, distance: 0), count: count)
        var i = out.count
        while let item = pop() {
            i -= 1
            out[i] = item
        }
        return out
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
