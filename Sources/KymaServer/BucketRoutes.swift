// Buckets over the admin API (their objects travel over the S3 byte plane, S3Server):
//   GET    /admin/buckets                    the buckets the key may see, with usage
//   POST   /admin/buckets                    {name, settings?}                         (admin)
//   GET    /admin/buckets/{b}                settings, objects, bytes, uploads in progress
//   PUT    /admin/buckets/{b}                {settings}: replaces them                 (admin)
//   DELETE /admin/buckets/{b}                an empty bucket (409 while it holds objects) (admin)
//   GET    /admin/buckets/{b}/objects        ?prefix=&delimiter=&max_keys=&continuation=: a page
//                                            of keys and common prefixes, as S3 lists them

import Foundation
import Hummingbird
import KymaCatalog
import KymaCore
import KymaObjectStore

struct BucketRoutes {
    let state: ServerState

    func register(_ router: RouteTable) {
        router.get("/admin/buckets") { _, context in try await list(context) }
        router.post("/admin/buckets") { request, context in try await create(request, context) }
        router.get("/admin/buckets/:bucket") { _, context in try await describe(try PathParameter.name(context, "bucket"), context) }
        router.put("/admin/buckets/:bucket") { request, context in try await update(request, try PathParameter.name(context, "bucket"), context) }
        router.delete("/admin/buckets/:bucket") { _, context in try await delete(try PathParameter.name(context, "bucket"), context) }
        router.get("/admin/buckets/:bucket/objects") { request, context in try await objects(request, try PathParameter.name(context, "bucket"), context) }
    }

    func json(_ bucket: BucketInfo, _ usage: BucketUsage) -> String {
        let settings = bucket.settings.sorted { $0.key < $1.key }.map { JSONText.quote($0.key) + ":" + JSONText.quote($0.value) }.joined(separator: ",")
        return "{\"name\":\(JSONText.quote(bucket.name)),\"created\":\(JSONText.quote(S3Server.isoTime(bucket.createdAtMillis))),"
            + "\"objects\":\(usage.objects),\"bytes\":\(usage.bytes),\"uploads_in_progress\":\(usage.uploadsInProgress),\"settings\":{\(settings)}}"
    }

    func existing(_ name: String) async throws -> BucketInfo {
        guard let bucket = try await state.services.catalog.bucket(named: name) else { throw ServerError(.notFound, "unknown bucket '\(name)'") }
        return bucket
    }

    func list(_ context: ServerContext) async throws -> Response {
        _ = try context.require(.read)
        var items: [String] = []
        for bucket in try await state.services.catalog.buckets() where context.mayUse(bucket.name) {
            items.append(json(bucket, try await state.services.catalog.bucketUsage(named: bucket.name)))
        }
        return JSONResponse.ok("{\"buckets\":[\(items.joined(separator: ","))]}")
    }

    /// Settings are a flat object of strings (a description, labels).
    static func settings(_ fields: JSONFields) throws(ServerError) -> [String: String]? {
        guard let object = try fields.object("settings") else { return nil }
        var settings: [String: String] = [:]
        for (key, value) in object {
            guard let text = value as? String else { throw ServerError(.badRequest, "setting '\(key)' must be a string") }
            settings[key] = text
        }
        return settings
    }

    func create(_ request: Request, _ context: ServerContext) async throws -> Response {
        let fields = try JSONFields(RequestBodies.jsonObject(try await RequestBodies.read(request, settings: state.settings)), known: ["name", "settings"])
        let name = try fields.requiredString("name")
        _ = try context.require(.admin, table: name)
        if let problem = S3Server.bucketNameProblem(name) { throw ServerError(.badRequest, "the bucket name '\(name)' \(problem)") }
        let bucket = try await state.services.catalog.createBucket(named: name, settings: try Self.settings(fields) ?? [:])
        return JSONResponse.make(.created, json(bucket, BucketUsage(objects: 0, bytes: 0, uploadsInProgress: 0)))
    }

    func describe(_ name: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.read, table: name)
        let bucket = try await existing(name)
        return JSONResponse.ok(json(bucket, try await state.services.catalog.bucketUsage(named: name)))
    }

    func update(_ request: Request, _ name: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.admin, table: name)
        let fields = try JSONFields(RequestBodies.jsonObject(try await RequestBodies.read(request, settings: state.settings)), known: ["settings"])
        guard let settings = try Self.settings(fields) else { throw ServerError(.badRequest, "the body needs \"settings\": {...}") }
        _ = try await existing(name)
        let bucket = try await state.services.catalog.updateBucket(named: name, settings: settings)
        return JSONResponse.ok(json(bucket, try await state.services.catalog.bucketUsage(named: name)))
    }

    func delete(_ name: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.admin, table: name)
        _ = try await existing(name)
        let garbage: [String]
        do {
            garbage = try await state.services.catalog.deleteBucket(named: name)
        } catch .conflict {
            throw ServerError(.conflict, "bucket '\(name)' holds objects; delete them first (aws s3 rm --recursive s3://\(name))")
        }
        for key in garbage {
            if let key = try? ObjectKey(key) { try? await state.services.store.delete(key) }
        }
        return JSONResponse.ok("{\"deleted\":\(JSONText.quote(name))}")
    }

    func objects(_ request: Request, _ name: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.read, table: name)
        _ = try await existing(name)
        let query = request.uri.queryParameters
        let known: Set = ["prefix", "delimiter", "max_keys", "continuation"]
        if let unknown = query.map({ String($0.key) }).first(where: { !known.contains($0) }) {
            throw ServerError(.badRequest, "unknown parameter '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        var maxKeys = 1000
        if let text = query["max_keys"] {
            guard let value = Int(text), (1...1000).contains(value) else { throw ServerError(.badRequest, "max_keys must be an integer from 1 to 1000") }
            maxKeys = value
        }
        let page = try await BucketListing.page(state.services.catalog, bucket: name, prefix: query["prefix"].map(String.init) ?? "",
                                                delimiter: query["delimiter"].map(String.init), marker: query["continuation"].map(String.init), maxKeys: maxKeys)
        let objects = page.objects.map { object in
            "{\"key\":\(JSONText.quote(object.key)),\"size\":\(object.size),\"etag\":\(JSONText.quote(object.etag)),"
                + "\"last_modified\":\(JSONText.quote(S3Server.isoTime(object.lastModifiedMillis))),"
                + "\"content_type\":\(object.contentType.map(JSONText.quote) ?? "null")}"
        }
        var body = "{\"bucket\":\(JSONText.quote(name)),\"objects\":[\(objects.joined(separator: ","))],"
            + "\"common_prefixes\":[\(page.prefixes.map(JSONText.quote).joined(separator: ","))],\"truncated\":\(page.truncated)"
        if page.truncated, let next = page.next { body += ",\"continuation\":\(JSONText.quote(next))" }
        return JSONResponse.ok(body + "}")
    }
}
