// Vector collections over HTTP:
//   GET    /v1/collections                    the collections the key may see
//   POST   /v1/collections                    {name, dim, metric?, m?, ef_construction?}       (admin)
//   GET    /v1/collections/{c}                definition and live records
//   DELETE /v1/collections/{c}                drop it and its objects                          (admin)
//   POST   /v1/collections/{c}/upsert         JSON lines {"id","vector","fields","text"}       (write)
//   POST   /v1/collections/{c}/delete         {ids: [...]} -> how many were live               (write)
//   POST   /v1/collections/{c}/search         {vector, k?, ef?, filter?, filter_lang?, exact?} (read)
//   POST   /v1/collections/{c}/hybrid         {text, vector, k?, ef?, fusion?, vector_weight?, filter?, filter_lang?}
//   POST   /v1/collections/{c}/compact        one segment of the live records                  (admin)
//
// A node keeps each collection it served loaded (a cache); before every request it applies
// what other nodes registered since (`refresh`), so any node answers as the writer would.

import Foundation
import HTTPTypes
import Hummingbird
import KymaCatalog
import KymaCore
import KymaObjectStore
import KymaPlan
import KymaVector

struct VectorRoutes {
    let state: ServerState

    func register(_ router: RouteTable) {
        router.get("/v1/collections") { _, context in
            _ = try context.require(.read)
            let items = try await state.services.catalog.vectorCollections().filter { context.mayUse($0.definition.name) }.map(describe)
            return JSONResponse.ok("{\"collections\":[\(items.joined(separator: ","))]}")
        }
        router.post("/v1/collections") { request, context in
            let fields = try JSONFields(RequestBodies.jsonObject(try await RequestBodies.read(request, settings: state.settings)),
                                        known: ["name", "dim", "metric", "m", "ef_construction", "quantization"])
            let name = try fields.requiredString("name")
            _ = try context.require(.admin, table: name)
            guard let dimension = try fields.int("dim", in: 1...65_536) else { throw ServerError(.badRequest, "field 'dim' is required") }
            let info = try await VectorCollection.create(VectorCollectionDefinition(
                name: name, dimension: dimension, metric: try fields.string("metric") ?? "l2", m: try fields.int("m", in: 2...128) ?? 16,
                efConstruction: try fields.int("ef_construction", in: 1...100_000) ?? 200, quantization: try fields.string("quantization") ?? "none"),
                catalog: state.services.catalog)
            return JSONResponse.make(.created, describe(info))
        }
        router.get("/v1/collections/:collection") { _, context in
            let name = try PathParameter.name(context, "collection")
            _ = try context.require(.read, table: name)
            let collection = try await state.collections.collection(name)
            var body = String(describe(collection.info).dropLast())
            body += ",\"live\":\(await collection.liveCount)}"
            return JSONResponse.ok(body)
        }
        router.delete("/v1/collections/:collection") { _, context in
            let name = try PathParameter.name(context, "collection")
            _ = try context.require(.admin, table: name)
            let objects = try await VectorCollection.drop(name: name, catalog: state.services.catalog, store: state.services.store)
            await state.collections.forget(name)
            return JSONResponse.ok("{\"dropped\":\(JSONText.quote(name)),\"objects_deleted\":\(objects)}")
        }
        router.post("/v1/collections/:collection/upsert") { request, context in
            let name = try PathParameter.name(context, "collection")
            _ = try context.require(.write, table: name)
            let key = request.headers[.idempotencyKey]
            let records = try VectorRecordInput.records(try await RequestBodies.read(request, settings: state.settings), source: "request body")
            let collection = try await state.collections.collection(name)
            try await collection.upsert(records, batchID: key.map { "http:" + $0 })
            return JSONResponse.ok("{\"upserted\":\(records.count),\"live\":\(await collection.liveCount)}")
        }
        router.post("/v1/collections/:collection/delete") { request, context in
            let name = try PathParameter.name(context, "collection")
            _ = try context.require(.write, table: name)
            let fields = try JSONFields(RequestBodies.jsonObject(try await RequestBodies.read(request, settings: state.settings)), known: ["ids"])
            guard let ids = try fields.strings("ids") else { throw ServerError(.badRequest, "field 'ids' is required") }
            let collection = try await state.collections.collection(name)
            let deleted = try await collection.delete(ids: ids, batchID: request.headers[.idempotencyKey].map { "http:" + $0 })
            return JSONResponse.ok("{\"deleted\":\(deleted),\"live\":\(await collection.liveCount)}")
        }
        router.post("/v1/collections/:collection/search") { request, context in
            try await search(request, context, hybrid: false)
        }
        router.post("/v1/collections/:collection/hybrid") { request, context in
            try await search(request, context, hybrid: true)
        }
        router.post("/v1/collections/:collection/compact") { _, context in
            let name = try PathParameter.name(context, "collection")
            _ = try context.require(.admin, table: name)
            let collection = try await state.collections.collection(name)
            let replaced = try await collection.compact()
            return JSONResponse.ok("{\"objects_replaced\":\(replaced),\"live\":\(await collection.liveCount)}")
        }
    }

    func describe(_ info: VectorCollectionInfo) -> String {
        let d = info.definition
        return "{\"name\":\(JSONText.quote(d.name)),\"dim\":\(d.dimension),\"metric\":\(JSONText.quote(d.metric)),\"m\":\(d.m),\"ef_construction\":\(d.efConstruction),\"quantization\":\(JSONText.quote(d.quantization))}"
    }

    func search(_ request: Request, _ context: ServerContext, hybrid: Bool) async throws -> Response {
        let name = try PathParameter.name(context, "collection")
        _ = try context.require(.read, table: name)
        let known: Set<String> = hybrid ? ["text", "vector", "k", "ef", "fusion", "vector_weight", "filter", "filter_lang"]
            : ["vector", "k", "ef", "filter", "filter_lang", "exact"]
        let fields = try JSONFields(RequestBodies.jsonObject(try await RequestBodies.read(request, settings: state.settings)), known: known)
        guard let vector = try fields.floats("vector") else { throw ServerError(.badRequest, "field 'vector' (an array of numbers) is required") }
        let k = try fields.int("k", in: 1...10_000) ?? 10
        let ef = try fields.int("ef", in: 1...100_000)
        var filter: Expr? = nil
        if let text = try fields.string("filter") {
            let language = try fields.string("filter_lang") ?? "kql"
            do throws(QueryError) {
                filter = try state.queryService.filter(text, language: language, nowNanos: state.now())
            } catch {
                throw ServerError(error)
            }
        }
        let collection = try await state.collections.collection(name)
        let results: [VectorResult]
        if hybrid {
            let text = try fields.requiredString("text")
            let fusion: Fusion
            switch try fields.string("fusion") ?? "rrf" {
            case "rrf": fusion = .reciprocalRank(k: 60)
            case "weighted":
                let weight = try fields.double("vector_weight") ?? 0.5
                guard (0...1).contains(weight) else { throw ServerError(.badRequest, "field 'vector_weight' must be within 0...1") }
                fusion = .weighted(vectorWeight: weight)
            case let other: throw ServerError(.badRequest, "unknown fusion '\(other)' (rrf or weighted)")
            }
            results = try await collection.hybrid(text: text, vector: vector, k: k, fusion: fusion, ef: ef, filter: filter)
        } else if try fields.bool("exact") == true {
            results = try await collection.exactSearch(vector, k: k, filter: filter)
        } else {
            results = try await collection.search(vector, k: k, ef: ef, filter: filter)
        }
        let items = results.map { "{\"id\":\(JSONText.quote($0.id)),\"score\":\(JSONValue.render(.float64($0.score)))}" }
        return JSONResponse.ok("{\"results\":[\(items.joined(separator: ","))]}")
    }
}
