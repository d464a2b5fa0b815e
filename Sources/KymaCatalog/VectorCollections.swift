// Catalog values of vector collections: the definition, and the ordered objects (write-ahead
// batches and compacted segments) that hold a collection's records on the object store.

import KymaCore

public struct VectorCollectionDefinition: Sendable, Hashable {
    public var name: String
    public var dimension: Int
    /// `l2`, `cosine` or `ip` (the index module's metric names).
    public var metric: String
    public var m: Int
    public var efConstruction: Int
    /// `none` or `int8` (the index module's quantization names).
    public var quantization: String

    public init(name: String, dimension: Int, metric: String, m: Int = 16, efConstruction: Int = 200, quantization: String = "none") {
        self.name = name
        self.dimension = dimension
        self.metric = metric
        self.m = m
        self.efConstruction = efConstruction
        self.quantization = quantization
    }
}

public struct VectorCollectionInfo: Sendable, Hashable {
    public var id: Int64
    public var definition: VectorCollectionDefinition

    public init(id: Int64, definition: VectorCollectionDefinition) {
        self.id = id
        self.definition = definition
    }
}

public enum VectorObjectKind: String, Sendable, Hashable {
    /// Upserts and deletes of one acknowledged batch, applied in sequence order.
    case wal
    /// The collection's live records as of a compaction (replaces every object before it).
    case segment
}

public struct VectorObject: Sendable, Hashable {
    public var sequence: Int64
    public var kind: VectorObjectKind
    public var objectKey: String
    public var recordCount: Int64

    public init(sequence: Int64, kind: VectorObjectKind, objectKey: String, recordCount: Int64) {
        self.sequence = sequence
        self.kind = kind
        self.objectKey = objectKey
        self.recordCount = recordCount
    }
}
