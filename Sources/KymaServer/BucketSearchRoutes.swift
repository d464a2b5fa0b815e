// Search over what a bucket's documents became (docs/k3.md):
//   POST /{b}/vector/search  {text?, vector?, key?, k?, mode?, min_score?, collection?, filter?, filter_lang?}   (read)
//
// The bucket's collections are the destinations of its documents-to-collection rules; each
// is searched with its rule's embedder (so a query text is embedded as the chunks were), and
// the answers are merged by score. The query is a text, a vector, or an object key (whose
// first chunk's vector is the query). Modes:
//   vector  nearest chunks by the collection's metric     score: 1 - cosine distance, or -distance
//   text    BM25 over chunk texts                         score: BM25
//   hybrid  both, fused by reciprocal rank (k = 60)       score: the fused rank score
//   auto    hybrid when there is a text, else vector (the default)
// Higher scores are better in every mode; `min_score` drops answers below it. Scores of
// different modes do not compare, so one request uses one mode.

import Foundation
import Hummingbird
import KymaBuckets
import KymaCatalog
import KymaCore
import KymaEmbedding
import KymaPlan
import KymaQueryService
import KymaVector

struct BucketSearchRoutes {
    let state: ServerState

    func register(_ router: RouteTable) {
        // `:index`, as `/:index/_bulk` names its first segment (the router keys parameters by position and name).
        router.post("/:index/vector/search") { request, context in try await search(request, try PathParameter.name(context, "index"), context) }
    }

    enum Mode: String { case vector, text, hybrid, auto }

    struct Hit {
        var collection: String
        var result: VectorResult
        var record: VectorRecord?
    }

    struct Query {
        var text: String?
        var vector: [Float]?
        var key: String?
        var k: Int
        var mode: Mode
        var filter: Expr?
    }

    /// The answers of one collection, the one `rule` writes (none before its first document).
    func hits(_ query: Query, in rule: BucketRule) async throws -> [Hit] {
        guard try await state.services.catalog.vectorCollection(named: rule.destination) != nil else { return [] }
        let collection = try await state.collections.collection(rule.destination)
        let metric = collection.info.definition.metric
        var vector = query.vector
        if let key = query.key {
            guard let first = await collection.get(DocumentsToCollection.recordID(key: key, chunk: 0)) else { return [] }
            vector = first.vector
        } else if let text = query.text, query.mode != .text {
            vector = try await EmbedderOptions.make(rule.options, environment: ProcessInfo.processInfo.environment).embed([text]).first
        }
        let results: [VectorResult]
        switch query.mode {
        case .text:
            results = try await collection.textSearch(query.text ?? "", k: query.k, filter: query.filter)
        case .hybrid:
            results = try await collection.hybrid(text: query.text ?? "", vector: vector ?? [], k: query.k, fusion: .reciprocalRank(k: 60), filter: query.filter)
        case .vector, .auto:
            results = try await collection.search(vector ?? [], k: query.k, filter: query.filter).map {
                VectorResult(id: $0.id, score: metric == "cosine" ? 1 - $0.score : -$0.score)
            }
        }
        var hits: [Hit] = []
        for result in results { hits.append(Hit(collection: rule.destination, result: result, record: await collection.get(result.id))) }
        return hits
    }

    func search(_ request: Request, _ bucket: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.read, table: bucket)
        let fields = try JSONFields(RequestBodies.jsonObject(try await RequestBodies.read(request, settings: state.settings)),
                                    known: ["text", "vector", "key", "k", "mode", "min_score", "collection", "filter", "filter_lang"])
        let text = try fields.string("text")
        let vector = try fields.floats("vector")
        let key = try fields.string("key")
        guard [text != nil, vector != nil, key != nil].filter({ $0 }).count == 1 else {
            throw ServerError(.badRequest, "give exactly one of 'text', 'vector' or 'key'")
        }
        let k = try fields.int("k", in: 1...1000) ?? 10
        let minScore = try fields.double("min_score")
        guard let requested = Mode(rawValue: try fields.string("mode") ?? "auto") else {
            throw ServerError(.badRequest, "mode must be one of vector, text, hybrid, auto")
        }
        let mode: Mode = requested == .auto ? (text != nil ? .hybrid : .vector) : requested
        if mode != .vector, text == nil { throw ServerError(.badRequest, "mode \(mode.rawValue) needs a 'text'") }
        var filter: Expr? = nil
        if let filterText = try fields.string("filter") {
            let language = try fields.string("filter_lang") ?? "kql"
            do throws(QueryError) {
                filter = try state.queryService.filter(filterText, language: language, nowNanos: state.now())
            } catch {
                throw ServerError(error)
            }
        }
        _ = try await BucketRoutes(state: state).existing(bucket)
        var rules = try await state.services.catalog.rules(bucket: bucket).filter { $0.pipeline == Pipeline.documentsToCollection.rawValue }
        if let only = try fields.string("collection") {
            rules = rules.filter { $0.destination == only }
            if rules.isEmpty { throw ServerError(.notFound, "bucket '\(bucket)' has no documents-to-collection rule writing collection '\(only)'") }
        }
        var seen: Set<String> = []
        var hits: [Hit] = []
        let query = Query(text: text, vector: vector, key: key, k: k, mode: mode, filter: filter)
        for rule in rules where seen.insert(rule.destination).inserted {
            hits += try await self.hits(query, in: rule).filter { hit in minScore.map { hit.result.score >= $0 } ?? true }
        }
        hits.sort { $0.result.score != $1.result.score ? $0.result.score > $1.result.score : $0.result.id < $1.result.id }
        let items = hits.prefix(k).map { hit in
            var item = "{\"collection\":\(JSONText.quote(hit.collection)),\"id\":\(JSONText.quote(hit.result.id)),\"score\":\(JSONValue.render(.float64(hit.result.score)))"
            for name in ["key", "chunk", "offset", "etag"] {
                if let value = hit.record?.fields[name] { item += ",\(JSONText.quote(name)):\(JSONValue.render(value))" }
            }
            item += ",\"text\":\(hit.record?.text.map(JSONText.quote) ?? "null")}"
            return item
        }
        return JSONResponse.ok("{\"bucket\":\(JSONText.quote(bucket)),\"mode\":\(JSONText.quote(mode.rawValue)),\"results\":[\(items.joined(separator: ","))]}")
    }
}
