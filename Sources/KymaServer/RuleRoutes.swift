// Rules and ingest jobs of a bucket over the admin API (docs/k3.md):
//   GET    /admin/buckets/{b}/rules           the bucket's rules, highest priority first
//   POST   /admin/buckets/{b}/rules           {name, pipeline, destination, options?, include?,
//                                             exclude?, content_types?, min_size?, max_size?,
//                                             priority?, enabled?, source?}               (admin)
//   DELETE /admin/buckets/{b}/rules/{id}                                                 (admin)
//   GET    /admin/buckets/{b}/jobs            its ingest jobs, newest first (?limit=)
//   POST   /{b}/ingest                        {key, rule?}: a job for the object now, for the
//                                             rule named (whatever its patterns) or every rule
//                                             that takes it                             (write)
// A rule applies to objects written after it; `POST /{b}/ingest` (or a re-put) covers older ones.

import Foundation
import Hummingbird
import KymaBuckets
import KymaCatalog
import KymaCore

struct RuleRoutes {
    let state: ServerState

    func register(_ router: RouteTable) {
        router.get("/admin/buckets/:bucket/rules") { _, context in try await list(try PathParameter.name(context, "bucket"), context) }
        router.post("/admin/buckets/:bucket/rules") { request, context in try await create(request, try PathParameter.name(context, "bucket"), context) }
        router.delete("/admin/buckets/:bucket/rules/:rule") { _, context in try await delete(try PathParameter.name(context, "bucket"), context) }
        router.get("/admin/buckets/:bucket/jobs") { request, context in try await jobs(request, try PathParameter.name(context, "bucket"), context) }
        // The router keys parameters by position and name: `:index`, as `/:index/_bulk` has it.
        router.post("/:index/ingest") { request, context in try await ingest(request, try PathParameter.name(context, "index"), context) }
    }

    func existing(_ name: String) async throws { _ = try await BucketRoutes(state: state).existing(name) }

    static func json(_ rule: BucketRule) -> String {
        func strings(_ values: [String]) -> String { "[" + values.map(JSONText.quote).joined(separator: ",") + "]" }
        let options = rule.options.sorted { $0.key < $1.key }.map { JSONText.quote($0.key) + ":" + JSONText.quote($0.value) }.joined(separator: ",")
        return "{\"id\":\(rule.id),\"bucket\":\(JSONText.quote(rule.bucket)),\"name\":\(JSONText.quote(rule.name)),"
            + "\"pipeline\":\(JSONText.quote(rule.pipeline)),\"destination\":\(JSONText.quote(rule.destination)),\"options\":{\(options)},"
            + "\"include\":\(strings(rule.include)),\"exclude\":\(strings(rule.exclude)),\"content_types\":\(strings(rule.contentTypes)),"
            + "\"min_size\":\(rule.minSize.map(String.init) ?? "null"),\"max_size\":\(rule.maxSize.map(String.init) ?? "null"),"
            + "\"priority\":\(rule.priority),\"enabled\":\(rule.enabled),\"source\":\(rule.source.map(JSONText.quote) ?? "null")}"
    }

    func list(_ bucket: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.read, table: bucket)
        try await existing(bucket)
        let rules = try await state.services.catalog.rules(bucket: bucket)
        return JSONResponse.ok("{\"rules\":[\(rules.map(Self.json).joined(separator: ","))]}")
    }

    func create(_ request: Request, _ bucket: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.admin, table: bucket)
        let fields = try JSONFields(RequestBodies.jsonObject(try await RequestBodies.read(request, settings: state.settings)),
                                    known: ["name", "pipeline", "destination", "options", "include", "exclude", "content_types", "min_size",
                                            "max_size", "priority", "enabled", "source"])
        var options: [String: String] = [:]
        for (key, value) in try fields.object("options") ?? [:] {
            guard let text = value as? String else { throw ServerError(.badRequest, "option '\(key)' must be a string") }
            options[key] = text
        }
        let destination = try fields.requiredString("destination")
        // The destination is a table the key must be allowed to write.
        _ = try context.require(.admin, table: destination)
        let rule = BucketRule(bucket: bucket, name: try fields.requiredString("name"), pipeline: try fields.requiredString("pipeline"),
                              destination: destination, options: options, include: try fields.strings("include") ?? [],
                              exclude: try fields.strings("exclude") ?? [], contentTypes: try fields.strings("content_types") ?? [],
                              minSize: try fields.int64("min_size"), maxSize: try fields.int64("max_size"),
                              priority: try fields.int("priority", in: -1_000_000...1_000_000) ?? 0, enabled: try fields.bool("enabled") ?? true,
                              source: try fields.string("source"))
        do {
            _ = try Pipeline.validated(rule)
        } catch {
            throw ServerError(.badRequest, error.message)
        }
        try await existing(bucket)
        let created = try await state.services.catalog.createRule(rule)
        return JSONResponse.make(.created, Self.json(created))
    }

    func delete(_ bucket: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.admin, table: bucket)
        guard let id = context.parameters.get("rule").flatMap({ Int64($0) }) else { throw ServerError(.badRequest, "the rule id must be an integer") }
        try await existing(bucket)
        guard try await state.services.catalog.deleteRule(bucket: bucket, id: id) else {
            throw ServerError(.notFound, "bucket '\(bucket)' has no rule \(id)")
        }
        return JSONResponse.ok("{\"deleted\":\(id)}")
    }

    static func json(_ unit: WorkUnit) -> String {
        let job = try? IngestJob.decode(unit.payload)
        var fields = ["\"id\":\(unit.id)", "\"state\":\(JSONText.quote(unit.state.rawValue))", "\"attempts\":\(unit.attempts)",
                      "\"key\":\(job.map { JSONText.quote($0.key) } ?? "null")", "\"etag\":\(job.map { JSONText.quote($0.etag) } ?? "null")",
                      "\"rule\":\(job.map { String($0.rule) } ?? "null")"]
        fields.append("\"error\":\(unit.lastError.map(JSONText.quote) ?? "null")")
        fields.append("\"result\":\(unit.result ?? "null")")
        return "{" + fields.joined(separator: ",") + "}"
    }

    func jobs(_ request: Request, _ bucket: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.read, table: bucket)
        try await existing(bucket)
        var limit = 100
        if let text = request.uri.queryParameters["limit"] {
            guard let value = Int(text), (1...10_000).contains(value) else { throw ServerError(.badRequest, "limit must be an integer from 1 to 10000") }
            limit = value
        }
        let units = try await state.services.catalog.workUnits(kind: IngestJob.kind, payload: ["bucket": bucket], limit: limit)
        var counts: [String: Int] = [:]
        for unit in units { counts[unit.state.rawValue, default: 0] += 1 }
        let summary = ["pending", "running", "done", "failed"].map { "\"\($0)\":\(counts[$0] ?? 0)" }.joined(separator: ",")
        return JSONResponse.ok("{\"bucket\":\(JSONText.quote(bucket)),\"counts\":{\(summary)},\"jobs\":[\(units.map(Self.json).joined(separator: ","))]}")
    }

    func ingest(_ request: Request, _ bucket: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.write, table: bucket)
        let fields = try JSONFields(RequestBodies.jsonObject(try await RequestBodies.read(request, settings: state.settings)), known: ["key", "rule"])
        let key = try fields.requiredString("key")
        let only = try fields.int64("rule")
        try await existing(bucket)
        guard let object = try await state.services.catalog.object(bucket: bucket, key: key) else {
            throw ServerError(.notFound, "bucket '\(bucket)' has no object '\(key)'")
        }
        let rules = try await state.services.catalog.rules(bucket: bucket)
        let requests: [WorkRequest]
        if let only {
            // A rule named by hand runs on the object whatever its patterns say.
            guard let rule = rules.first(where: { $0.id == only }) else { throw ServerError(.notFound, "bucket '\(bucket)' has no rule \(only)") }
            if let source = rule.source {
                throw ServerError(.badRequest, "rule \(only) reads source '\(source)', not the bucket's objects: POST /\(bucket)/sources/\(source)/discover")
            }
            requests = [IngestJob(bucket: bucket, key: key, etag: object.etag, rule: only).request]
        } else {
            requests = IngestJob.requests(for: object, bucket: bucket, rules: rules)
        }
        var made: [String] = []
        for request in requests {
            let id = try await state.services.catalog.enqueueWork(kind: request.kind, payload: request.payload, deduplicationKey: request.deduplicationKey)
            made.append(String(id))
        }
        return JSONResponse.make(.accepted, "{\"key\":\(JSONText.quote(key)),\"etag\":\(JSONText.quote(object.etag)),\"jobs\":[\(made.joined(separator: ","))]}")
    }
}
