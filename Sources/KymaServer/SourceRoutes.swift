// External sources of a bucket over the admin API (docs/k3.md):
//   GET    /admin/buckets/{b}/sources               its sources; credentials never returned    (read)
//   POST   /admin/buckets/{b}/sources               {name, endpoint, bucket, region?, prefix?,
//                                                   access_key_id?, secret_access_key?}        (admin)
//   DELETE /admin/buckets/{b}/sources/{name}        the source, its rules, what scans recorded (admin)
//   POST   /{b}/sources/{name or id}/discover       scan it: jobs for what is new or changed    (write)

import Foundation
import Hummingbird
import KymaBuckets
import KymaCatalog
import KymaCore
import KymaRuntime

struct SourceRoutes {
    let state: ServerState

    func register(_ router: RouteTable) {
        router.get("/admin/buckets/:bucket/sources") { _, context in try await list(try PathParameter.name(context, "bucket"), context) }
        router.post("/admin/buckets/:bucket/sources") { request, context in try await create(request, try PathParameter.name(context, "bucket"), context) }
        router.delete("/admin/buckets/:bucket/sources/:source") { _, context in
            try await delete(try PathParameter.name(context, "bucket"), try PathParameter.name(context, "source"), context)
        }
        // `:index`, as `/:index/_bulk` names the first segment (the router keys parameters by position and name).
        router.post("/:index/sources/:source/discover") { _, context in
            try await discover(try PathParameter.name(context, "index"), try PathParameter.name(context, "source"), context)
        }
    }

    static func json(_ source: BucketSource) -> String {
        "{\"id\":\(source.id),\"bucket\":\(JSONText.quote(source.bucket)),\"name\":\(JSONText.quote(source.name)),"
            + "\"endpoint\":\(JSONText.quote(source.endpoint)),\"region\":\(JSONText.quote(source.region)),"
            + "\"remote_bucket\":\(JSONText.quote(source.remoteBucket)),\"prefix\":\(JSONText.quote(source.prefix)),"
            + "\"credentials\":\(source.accessKeyID != nil)}"
    }

    func existing(_ name: String) async throws { _ = try await BucketRoutes(state: state).existing(name) }

    func list(_ bucket: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.read, table: bucket)
        try await existing(bucket)
        let sources = try await state.services.catalog.sources(bucket: bucket)
        return JSONResponse.ok("{\"sources\":[\(sources.map(Self.json).joined(separator: ","))]}")
    }

    func create(_ request: Request, _ bucket: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.admin, table: bucket)
        let fields = try JSONFields(RequestBodies.jsonObject(try await RequestBodies.read(request, settings: state.settings)),
                                    known: ["name", "endpoint", "bucket", "region", "prefix", "access_key_id", "secret_access_key"])
        let name = try fields.requiredString("name")
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), !name.allSatisfy(\.isNumber) else {
            throw ServerError(.badRequest, "a source name is letters, digits, '-' and '_', not only digits; got '\(name)'")
        }
        let key = try fields.string("access_key_id")
        let secret = try fields.string("secret_access_key")
        guard (key == nil) == (secret == nil) else { throw ServerError(.badRequest, "give both access_key_id and secret_access_key, or neither") }
        let source = BucketSource(bucket: bucket, name: name, endpoint: try fields.requiredString("endpoint"), region: try fields.string("region") ?? "us-east-1",
                                  remoteBucket: try fields.requiredString("bucket"), prefix: try fields.string("prefix") ?? "",
                                  accessKeyID: key, secretKey: secret)
        do {
            _ = try SourceStores.open(source)
        } catch {
            throw ServerError(.badRequest, error.message)
        }
        try await existing(bucket)
        let created = try await state.services.catalog.createSource(source)
        return JSONResponse.make(.created, Self.json(created))
    }

    func delete(_ bucket: String, _ name: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.admin, table: bucket)
        try await existing(bucket)
        guard try await state.services.catalog.deleteSource(bucket: bucket, name: name) else {
            throw ServerError(.notFound, "bucket '\(bucket)' has no source '\(name)'")
        }
        return JSONResponse.ok("{\"deleted\":\(JSONText.quote(name))}")
    }

    func discover(_ bucket: String, _ reference: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.write, table: bucket)
        try await existing(bucket)
        guard let source = try await state.services.catalog.sources(bucket: bucket).first(where: { $0.name == reference || String($0.id) == reference }) else {
            throw ServerError(.notFound, "bucket '\(bucket)' has no source '\(reference)'")
        }
        let report: SourceDiscovery.Report
        do {
            report = try await SourceDiscovery.scan(source, store: try SourceStores.open(source), catalog: state.services.catalog)
        } catch {
            switch error.kind {
            case .catalog: throw ServerError(.unavailable, error.message, retryAfterSeconds: 1)
            default: throw ServerError(.unavailable, "source '\(source.name)' (\(source.endpoint), bucket \(source.remoteBucket)): \(error.message)", retryAfterSeconds: 1)
            }
        }
        return JSONResponse.ok("{\"source\":\(JSONText.quote(source.name)),\"listed\":\(report.listed),\"changed\":\(report.changed),\"jobs\":\(report.jobs)}")
    }
}
