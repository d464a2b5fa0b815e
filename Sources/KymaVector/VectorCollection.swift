// KymaVector: vector collections. A collection holds records (id, float32 vector, payload
// fields, optional text) searched by vector similarity (HNSW), by a filter on the payload, or by
// a fusion of BM25 text relevance and vector similarity. Following the invariants, every record
// lives in immutable objects on the object store (write-ahead batches, compacted segments with
// their graph), registered in order in the PostgreSQL catalog; a node's memory is a cache of
// them, and a node that starts with an empty disk rebuilds the same state and answers the same.

import KymaCatalog
import KymaCore
import KymaExec
import KymaFormat
import KymaIndex
import KymaObjectStore
import KymaPlan

public struct VectorRecord: Sendable, Hashable {
    public var id: String
    public var vector: [Float]
    public var fields: [String: ScalarValue]
    public var text: String?

    public init(id: String, vector: [Float], fields: [String: ScalarValue] = [:], text: String? = nil) {
        self.id = id
        self.vector = vector
        self.fields = fields
        self.text = text
    }
}

/// A search answer: the record id and its score (a distance for vector search, lower is
/// closer; a fused relevance for hybrid search, higher is better).
public struct VectorResult: Sendable, Hashable {
    public var id: String
    public var score: Double

    public init(id: String, score: Double) {
        self.id = id
        self.score = score
    }
}

public enum Fusion: Sendable, Hashable {
    /// Reciprocal rank fusion: sum over the lists of 1 / (k + rank), rank from 1 (k = 60).
    case reciprocalRank(k: Int)
    /// `vectorWeight` x min-max-normalised similarity + (1 - vectorWeight) x normalised BM25.
    case weighted(vectorWeight: Double)
}

public enum VectorError: Error, Sendable, Hashable, CustomStringConvertible {
    case unknownCollection(String)
    case collectionExists(String)
    case invalidDefinition(String)
    case invalidRecord(id: String, reason: String)
    case invalidQuery(String)
    /// The catalog failed: its error, with its kind (a conflict, an outage).
    case catalog(CatalogError)
    case store(String)
    case corrupt(String)

    public var description: String {
        switch self {
        case .unknownCollection(let name): "unknown vector collection '\(name)'"
        case .collectionExists(let name): "vector collection '\(name)' already exists"
        case .invalidDefinition(let reason): "invalid collection definition: \(reason)"
        case .invalidRecord(let id, let reason): "record '\(id)': \(reason)"
        case .invalidQuery(let reason): "invalid vector query: \(reason)"
        case .catalog(let error): "\(error)"
        case .store(let reason): "object store: \(reason)"
        case .corrupt(let reason): "corrupt collection object: \(reason)"
        }
    }
}

/// One collection, loaded from the catalog and the store. Shared by the tasks of a node, so
/// an actor: writes go through it in order; the HNSW index itself lets searches run in parallel.
public actor VectorCollection {
    public nonisolated let info: VectorCollectionInfo
    let catalog: any Catalog
    let store: any ObjectStore
    let metric: VectorMetric
    private(set) var index: HNSWIndex
    /// Internal id (position in the index) -> record, nil once replaced or deleted.
    private var records: [VectorRecord?] = []
    private var positions: [String: UInt32] = [:]
    private var lastSequence: Int64 = 0
    private var text = TextIndex()
    /// The allow-set of the last filter: a batch of queries with one filter evaluates it once.
    private var allowedCache: (filter: Expr, positions: Set<UInt32>)?

    public var liveCount: Int { positions.count }

    // MARK: - Lifecycle

    public static func create(_ definition: VectorCollectionDefinition, catalog: any Catalog) async throws(VectorError) -> VectorCollectionInfo {
        guard definition.dimension > 0, definition.dimension <= 65_536 else { throw .invalidDefinition("dimension \(definition.dimension) is not in 1...65536") }
        guard VectorMetric(rawValue: definition.metric) != nil else {
            throw .invalidDefinition("metric '\(definition.metric)' is not one of \(VectorMetric.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard definition.m >= 2, definition.m <= 128, definition.efConstruction >= 1 else { throw .invalidDefinition("m must be 2...128 and ef-construction at least 1") }
        guard VectorQuantization(rawValue: definition.quantization) != nil else {
            throw .invalidDefinition("quantization '\(definition.quantization)' is not one of \(VectorQuantization.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        do {
            return try await catalog.createVectorCollection(definition)
        } catch .conflict {
            throw .collectionExists(definition.name)
        } catch {
            throw .catalog(error)
        }
    }

    /// Drops the collection from the catalog, then deletes its objects.
    public static func drop(name: String, catalog: any Catalog, store: any ObjectStore) async throws(VectorError) -> Int {
        let keys: [String]
        do {
            keys = try await catalog.dropVectorCollection(named: name)
        } catch .tableNotFound {
            throw .unknownCollection(name)
        } catch {
            throw .catalog(error)
        }
        for key in keys { if let objectKey = try? ObjectKey(key) { try? await store.delete(objectKey) } }
        return keys.count
    }

    /// Loads the collection: its segment (records and graph) and the write-ahead batches after
    /// it, in catalog order.
    public static func open(name: String, catalog: any Catalog, store: any ObjectStore) async throws(VectorError) -> VectorCollection {
        let info: VectorCollectionInfo
        let objects: [VectorObject]
        let found: VectorCollectionInfo?
        do throws(CatalogError) { found = try await catalog.vectorCollection(named: name) } catch { throw .catalog(error) }
        guard let found else { throw .unknownCollection(name) }
        info = found
        do throws(CatalogError) { objects = try await catalog.vectorObjects(collectionID: info.id) } catch { throw .catalog(error) }
        let collection = try VectorCollection(info: info, catalog: catalog, store: store)
        for object in objects { try await collection.apply(object) }
        return collection
    }

    init(info: VectorCollectionInfo, catalog: any Catalog, store: any ObjectStore) throws(VectorError) {
        guard let metric = VectorMetric(rawValue: info.definition.metric) else { throw .invalidDefinition("metric '\(info.definition.metric)'") }
        self.info = info
        self.catalog = catalog
        self.store = store
        self.metric = metric
        index = HNSWIndex(dimension: info.definition.dimension, metric: metric, parameters: Self.parameters(info.definition))
    }

    static func parameters(_ definition: VectorCollectionDefinition) -> HNSWParameters {
        HNSWParameters(m: definition.m, efConstruction: definition.efConstruction,
                       quantization: VectorQuantization(rawValue: definition.quantization) ?? .none)
    }

    private func apply(_ object: VectorObject, written: (key: String, operations: [VectorOperation])? = nil) async throws(VectorError) {
        allowedCache = nil
        if let written, written.key == object.objectKey, object.kind == .wal {
            // This node just uploaded the batch: apply it from memory instead of fetching it back.
            for operation in written.operations { try applyLocally(operation) }
            lastSequence = object.sequence
            return
        }
        let bytes = try await fetch(object.objectKey)
        do {
            switch object.kind {
            case .segment:
                let segment = try VectorCodec.decodeSegment(bytes, key: object.objectKey)
                guard segment.dimension == info.definition.dimension else { throw VectorError.corrupt("segment \(object.objectKey) has dimension \(segment.dimension)") }
                index = try HNSWIndex(dimension: info.definition.dimension, metric: metric, parameters: Self.parameters(info.definition),
                                      vectors: segment.records.map(\.vector), graph: segment.graph)
                records = segment.records
                positions = [:]
                text = TextIndex()
                for (position, record) in segment.records.enumerated() {
                    positions[record.id] = UInt32(position)
                    text.add(UInt32(position), record.text)
                }
            case .wal:
                for operation in try VectorCodec.decodeBatch(bytes, key: object.objectKey) { try applyLocally(operation) }
            }
        } catch let error as VectorError {
            throw error
        } catch {
            throw .corrupt("\(object.objectKey): \(error)")
        }
        lastSequence = object.sequence
    }

    private func fetch(_ key: String) async throws(VectorError) -> [UInt8] {
        do {
            return try await store.get(try ObjectKey(key))
        } catch {
            throw .store("\(key): \(error)")
        }
    }

    private func applyLocally(_ operation: VectorOperation) throws(VectorError) {
        allowedCache = nil
        switch operation {
        case .upsert(let record):
            if let old = positions[record.id] { retire(old) }
            let position: UInt32
            do {
                position = try index.insert(record.vector)
            } catch {
                throw .invalidRecord(id: record.id, reason: error.description)
            }
            records.append(record)
            positions[record.id] = position
            text.add(position, record.text)
        case .delete(let id):
            if let old = positions.removeValue(forKey: id) { retire(old) }
        }
    }

    private func retire(_ position: UInt32) {
        index.delete(position)
        text.remove(position, records[Int(position)]?.text)
        records[Int(position)] = nil
    }

    // MARK: - Writes: acknowledged once the batch object is uploaded and registered

    /// Validates, uploads one write-ahead object, registers it; then applies it here. A repeated
    /// `batchID` is applied once.
    public func upsert(_ batch: [VectorRecord], batchID: String? = nil) async throws(VectorError) {
        for record in batch { try validate(record) }
        try await write(batch.map { .upsert($0) }, batchID: batchID)
    }

    /// Deletes the records with `ids`; returns how many of them were live (unknown ids are
    /// no error, and are not counted).
    @discardableResult
    public func delete(ids: [String], batchID: String? = nil) async throws(VectorError) -> Int {
        try await refresh()
        let live = Set(ids).filter { positions[$0] != nil }.count
        try await write(ids.map { .delete($0) }, batchID: batchID)
        return live
    }

    func validate(_ record: VectorRecord) throws(VectorError) {
        guard !record.id.isEmpty else { throw .invalidRecord(id: record.id, reason: "empty id") }
        do throws(VectorIndexError) {
            try HNSWIndex.validate(record.vector, dimension: info.definition.dimension, metric: metric)
        } catch .wrongDimension(let expected, let actual) {
            throw .invalidRecord(id: record.id, reason: "vector has dimension \(actual), the collection has \(expected)")
        } catch {
            throw .invalidRecord(id: record.id, reason: error.description)
        }
    }

    private func write(_ operations: [VectorOperation], batchID: String?) async throws(VectorError) {
        guard !operations.isEmpty else { return }
        let key = "collections/\(info.id)/wal/\(ObjectNames.unique()).kvw"
        do {
            try await store.putIfAbsent(try ObjectKey(key), VectorCodec.encodeBatch(operations))
        } catch {
            throw .store("\(key): \(error)")
        }
        let outcome: CommitOutcome
        do {
            outcome = try await catalog.appendVectorObject(collectionID: info.id, kind: .wal, objectKey: key, recordCount: Int64(operations.count), batchID: batchID)
        } catch {
            throw .catalog(error)
        }
        if outcome == .alreadyCommitted {
            if let objectKey = try? ObjectKey(key) { try? await store.delete(objectKey) }  // the first attempt stands
            try await refresh()
            return
        }
        try await refresh(written: (key, operations))
    }

    /// Applies objects other writers registered since this node last looked.
    public func refresh() async throws(VectorError) {
        try await refresh(written: nil)
    }

    private func refresh(written: (key: String, operations: [VectorOperation])?) async throws(VectorError) {
        let objects: [VectorObject]
        do {
            objects = try await catalog.vectorObjects(collectionID: info.id)
        } catch {
            throw .catalog(error)
        }
        if objects.contains(where: { $0.kind == .segment && $0.sequence > lastSequence }) {
            // A compaction replaced what this node holds: reload from the segment.
            index = HNSWIndex(dimension: info.definition.dimension, metric: metric, parameters: Self.parameters(info.definition))
            records = []
            positions = [:]
            text = TextIndex()
            lastSequence = 0
            for object in objects { try await apply(object) }
            return
        }
        for object in objects where object.sequence > lastSequence { try await apply(object, written: written) }
    }

    // MARK: - Compaction: live records into one segment, tombstones dropped

    /// Writes the live records and a freshly built graph as a segment replacing every object up
    /// to the last one applied; returns the number of objects replaced.
    public func compact() async throws(VectorError) -> Int {
        try await refresh()
        let live = records.compactMap { $0 }
        let rebuilt = HNSWIndex(dimension: info.definition.dimension, metric: metric, parameters: Self.parameters(info.definition))
        for record in live { _ = try? rebuilt.insert(record.vector) }  // validated when written
        let key = "collections/\(info.id)/segments/\(ObjectNames.unique()).kvs"
        do {
            try await store.putIfAbsent(try ObjectKey(key), VectorCodec.encodeSegment(dimension: info.definition.dimension, records: live, graph: rebuilt.snapshot()))
        } catch {
            throw .store("\(key): \(error)")
        }
        guard lastSequence > 0 else { return 0 }  // nothing was ever written: nothing to compact
        let replaced: [String]
        do {
            replaced = try await catalog.replaceVectorObjects(collectionID: info.id, throughSequence: lastSequence, segmentKey: key, recordCount: Int64(live.count))
        } catch {
            if let objectKey = try? ObjectKey(key) { try? await store.delete(objectKey) }
            throw .catalog(error)
        }
        // Readers that loaded the old objects keep working from memory; new readers see the
        // segment. Old objects are deleted once unregistered.
        for old in replaced { if let objectKey = try? ObjectKey(old) { try? await store.delete(objectKey) } }
        index = rebuilt
        allowedCache = nil
        records = live
        positions = Dictionary(uniqueKeysWithValues: live.enumerated().map { ($1.id, UInt32($0)) })
        text = TextIndex()
        for (position, record) in live.enumerated() { text.add(UInt32(position), record.text) }
        return replaced.count
    }

    // MARK: - Reads

    public func get(_ id: String) -> VectorRecord? {
        positions[id].flatMap { records[Int($0)] }
    }

    /// The `k` nearest records to `query` (distances under the collection's metric), among those
    /// whose payload satisfies `filter` when given.
    public func search(_ query: [Float], k: Int, ef: Int? = nil, filter: Expr? = nil) throws(VectorError) -> [VectorResult] {
        guard k > 0 else { throw .invalidQuery("k must be positive") }
        let allowed = try allowedPositions(filter)
        do {
            let hits = try index.search(query, k: k, ef: ef ?? max(k, 64), allowed: allowed.map { set in { set.contains($0) } },
                                        allowedFraction: allowed.map { Double($0.count) / Double(max(1, positions.count)) })
            return hits.compactMap { hit in records[Int(hit.id)].map { VectorResult(id: $0.id, score: Double(hit.distance)) } }
        } catch {
            throw .invalidQuery(error.description)
        }
    }

    /// Exact search (the ground truth, and the fallback for tiny collections).
    public func exactSearch(_ query: [Float], k: Int, filter: Expr? = nil) throws(VectorError) -> [VectorResult] {
        let allowed = try allowedPositions(filter)
        do {
            let hits = try index.exactSearch(query, k: k, allowed: allowed.map { set in { set.contains($0) } })
            return hits.compactMap { hit in records[Int(hit.id)].map { VectorResult(id: $0.id, score: Double(hit.distance)) } }
        } catch {
            throw .invalidQuery(error.description)
        }
    }

    /// BM25 over the records' text alone (higher is more relevant).
    public func textSearch(_ query: String, k: Int, filter: Expr? = nil) throws(VectorError) -> [VectorResult] {
        guard k > 0 else { throw .invalidQuery("k must be positive") }
        let allowed = try allowedPositions(filter)
        let ranked = text.bm25(query, limit: allowed == nil ? k : max(k, positions.count), live: positions.count)
            .filter { allowed?.contains($0.0) ?? true }
        return ranked.prefix(k).compactMap { item in records[Int(item.0)].map { VectorResult(id: $0.id, score: item.1) } }
    }

    /// BM25 over the records' text fused with vector similarity; `depth` candidates from each.
    public func hybrid(text query: String, vector: [Float], k: Int, fusion: Fusion, ef: Int? = nil, depth: Int = 100,
                       filter: Expr? = nil) throws(VectorError) -> [VectorResult] {
        guard k > 0 else { throw .invalidQuery("k must be positive") }
        let allowed = try allowedPositions(filter)
        let textRanked = text.bm25(query, limit: depth, live: positions.count).filter { allowed?.contains($0.0) ?? true }
        let vectorRanked: [(UInt32, Double)]
        do {
            vectorRanked = try index.search(vector, k: depth, ef: max(ef ?? depth, depth), allowed: allowed.map { set in { set.contains($0) } },
                                            allowedFraction: allowed.map { Double($0.count) / Double(max(1, positions.count)) })
                .map { ($0.id, Double($0.distance)) }
        } catch {
            throw .invalidQuery(error.description)
        }
        let fused = HybridFusion.fuse(vector: vectorRanked, text: textRanked, fusion: fusion)
        return fused.prefix(k).compactMap { item in records[Int(item.0)].map { VectorResult(id: $0.id, score: item.1) } }
    }

    /// Positions whose payload satisfies the filter (nil: no filter).
    private func allowedPositions(_ filter: Expr?) throws(VectorError) -> Set<UInt32>? {
        guard let filter else { return nil }
        if let cached = allowedCache, cached.filter == filter { return cached.positions }
        let live = records.indices.filter { records[$0] != nil }
        let batch = PayloadBatch.make(live.map { records[$0]?.fields ?? [:] })
        do {
            let rows = try PredicateEvaluation.rows(matching: filter, in: batch, now: 0)
            let positions = Set(rows.map { UInt32(live[Int($0)]) })
            allowedCache = (filter, positions)
            return positions
        } catch {
            throw .invalidQuery("filter: \(error)")
        }
    }
}

/// Unique object names (random UUIDs), so a retried write never overwrites another.
enum ObjectNames {
    static func unique() -> String { ExtentID.random().uuid }
}
