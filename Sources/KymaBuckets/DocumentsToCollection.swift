// The documents-to-collection pipeline: an object's readable text (plain, Markdown or HTML,
// optionally compressed) in overlapping chunks, each embedded and stored as one record of a
// vector collection. A record's id is `key#chunk`; its payload names the bucket, key, ETag,
// chunk and character offset, and its text is the chunk (so BM25 and hybrid search see it).
//
// Re-ingest replaces: a new version of the object upserts chunk ids 0..<n and deletes the
// ids from n on that the earlier version left. Both writes carry batch ids made from the job,
// so a job run twice (a worker killed mid-job) writes each once.

import KymaCatalog
import KymaCore
import KymaEmbedding
import KymaVector

public struct DocumentsToCollection: Sendable {
    public static let defaultChunkSize = 1000
    public static let defaultChunkOverlap = 100

    public let collections: VectorCollectionCache
    /// Where `embedder_key_env` is looked up.
    public let environment: [String: String]

    public init(collections: VectorCollectionCache, environment: [String: String]) {
        self.collections = collections
        self.environment = environment
    }

    /// The id of a chunk's record.
    public static func recordID(key: String, chunk: Int) -> String { "\(key)#\(chunk)" }

    /// What the rule's options say about chunks (checked when the rule was made).
    static func chunking(_ options: [String: String]) -> (size: Int, overlap: Int) {
        let size = options["chunk_size"].flatMap(Int.init) ?? defaultChunkSize
        let overlap = options["chunk_overlap"].flatMap(Int.init) ?? min(defaultChunkOverlap, size / 2)
        return (size, overlap)
    }

    public struct Report: Sendable, Equatable {
        public var chunks: Int
        public var removed: Int
    }

    /// Embeds the object's chunks into the rule's collection, replacing an earlier version's.
    public func run(_ job: IngestJob, rule: BucketRule, object: BucketObject, bytes stored: [UInt8]) async throws(BucketsError) -> Report {
        let bytes = try ObjectContent.decompressed(object, option: rule.options["compression"], bytes: stored)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw BucketsError(.badObject, "'\(object.key)' is not UTF-8 text")
        }
        let kind = DocumentKind.of(key: object.key, contentType: object.contentType, option: rule.options["format"].flatMap { $0 == "auto" ? nil : $0 })
        let (size, overlap) = Self.chunking(rule.options)
        let chunks = Chunker.chunks(DocumentText.readable(text, kind: kind), size: size, overlap: overlap)
        let embedder: any Embedder
        let vectors: [[Float]]
        do {
            embedder = try EmbedderOptions.make(rule.options, environment: environment)
            vectors = try await embedder.embed(chunks.map(\.text))
        } catch {
            throw BucketsError(.embedding, "embedding '\(object.key)': \(error)")
        }
        do {
            let collection: VectorCollection
            if let dimension = vectors.first?.count ?? embedder.dimension {
                collection = try await collections.collection(creatingIfMissing: VectorCollectionDefinition(
                    name: rule.destination, dimension: dimension, metric: rule.options["metric"] ?? "cosine"))
            } else {
                // No chunk and a remote model never asked: nothing to write, maybe something to remove.
                guard let existing = try? await collections.collection(rule.destination) else { return Report(chunks: 0, removed: 0) }
                collection = existing
            }
            let records = zip(chunks, vectors).map { chunk, vector in
                VectorRecord(id: Self.recordID(key: object.key, chunk: chunk.index), vector: vector, fields: [
                    "bucket": .string(job.bucket), "key": .string(object.key), "etag": .string(object.etag),
                    "chunk": .int64(Int64(chunk.index)), "offset": .int64(Int64(chunk.offset)),
                ], text: chunk.text)
            }
            if !records.isEmpty { try await collection.upsert(records, batchID: "s3:" + job.identity) }
            // The earlier version's chunks past this one's count.
            var stale: [String] = []
            while await collection.get(Self.recordID(key: object.key, chunk: chunks.count + stale.count)) != nil {
                stale.append(Self.recordID(key: object.key, chunk: chunks.count + stale.count))
            }
            if !stale.isEmpty { try await collection.delete(ids: stale, batchID: "s3-stale:" + job.identity) }
            return Report(chunks: records.count, removed: stale.count)
        } catch {
            throw BucketsError(.collection, "collection '\(rule.destination)': \(error)")
        }
    }
}
