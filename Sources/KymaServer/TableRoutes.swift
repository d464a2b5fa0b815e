// Tables over HTTP:
//   GET    /v1/tables               the tables the key may see, with extents, rows, bytes, time range
//   POST   /v1/tables               {name, format?, options?, time_column?}        (admin)
//   GET    /v1/tables/{t}           schema (from the extents' statistics), extents, rows, bytes,
//                                   time range, format and its options
//   DELETE /v1/tables/{t}           drop: the table leaves the catalog, then its objects go (admin)
//   POST   /v1/tables/{t}/compact   merge small extents; replaced objects wait their grace (admin)

import Foundation
import HTTPTypes
import Hummingbird
import KymaCatalog
import KymaCore
import KymaFormat
import KymaIngest
import KymaObjectStore
import NIOCore

struct TableRoutes {
    let state: ServerState

    func register(_ router: RouteTable) {
        router.get("/v1/tables") { _, context in try await list(context) }
        router.post("/v1/tables") { request, context in try await create(request, context) }
        router.get("/v1/tables/:table") { _, context in try await describe(try tableName(context), context) }
        router.delete("/v1/tables/:table") { _, context in try await drop(try tableName(context), context) }
        router.post("/v1/tables/:table/compact") { request, context in try await compact(request, try tableName(context), context) }
    }

    func list(_ context: ServerContext) async throws -> Response {
        _ = try context.require(.read)
        let catalog = state.services.catalog
        var items: [String] = []
        for table in try await catalog.tables() where context.mayUse(table.name) {
            items.append(summary(table, try await catalog.extents(table: table.name, matching: .all)))
        }
        return JSONResponse.ok("{\"tables\":[\(items.joined(separator: ","))]}")
    }

    func summary(_ table: TableInfo, _ extents: [ExtentRecord]) -> String {
        var fields = [
            "\"name\":\(JSONText.quote(table.name))",
            "\"format\":\(JSONText.quote(table.definition.formatName))",
            "\"time_column\":\(JSONText.quote(table.definition.timeColumn ?? "_time"))",
            "\"extents\":\(extents.count)",
            "\"rows\":\(extents.reduce(0) { $0 + $1.rowCount })",
            "\"bytes\":\(extents.reduce(0) { $0 + $1.byteSize })",
        ]
        let ranges = extents.map(\.timeRange).filter { $0 != .all }
        if let low = ranges.map(\.lowerNanos).min(), let high = ranges.map(\.upperNanos).max() {
            fields.append("\"min_time\":\(JSONText.quote(TimeText.rfc3339(low)))")
            fields.append("\"max_time\":\(JSONText.quote(TimeText.rfc3339(high)))")
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    func create(_ request: Request, _ context: ServerContext) async throws -> Response {
        let fields = try JSONFields(RequestBodies.jsonObject(try await RequestBodies.read(request, settings: state.settings)),
                                    known: ["name", "format", "options", "time_column"])
        let name = try fields.requiredString("name")
        _ = try context.require(.admin, table: name)
        let formatName = try fields.string("format") ?? "tlm"
        guard let format = state.services.formats.format(named: formatName) else {
            throw ServerError(.badRequest, "unknown format '\(formatName)' (known: \(state.services.formats.formats.map(\.name).joined(separator: ", ")))")
        }
        var options: [String: String] = [:]
        for (key, value) in try fields.object("options") ?? [:] {
            switch value {
            case let text as String: options[key] = text
            case let number as NSNumber: options[key] = JSONFields.isBoolean(number) ? (number.boolValue ? "true" : "false") : number.stringValue
            default: throw ServerError(.badRequest, "option '\(key)' must be a string or a number")
            }
        }
        do {
            _ = try format.makeWriter(schema: .empty, options: FormatOptions(options))  // validates the options
        } catch {
            throw ServerError(.badRequest, "\(error)")
        }
        let table = try await state.services.catalog.createTable(
            TableDefinition(name: name, formatName: formatName, options: options, timeColumn: try fields.string("time_column")))
        return JSONResponse.make(.created, summary(table, []))
    }

    func describe(_ name: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.read, table: name)
        let catalog = state.services.catalog
        guard let table = try await catalog.table(named: name) else { throw ServerError(.unknownTable, "unknown table '\(name)'") }
        let extents = try await catalog.extents(table: name, matching: .all)
        // Tables take their schema from what is ingested: each extent's statistics name its
        // columns and types; a column whose every value was null has no type yet.
        var types: [String: DataType] = [:]
        var order: [String] = []
        for extent in extents {
            for path in extent.presentPaths where types[path] == nil && !order.contains(path) { order.append(path) }
            for (column, statistics) in extent.columnStatistics.sorted(by: { $0.key < $1.key }) {
                if !order.contains(column) { order.append(column) }
                if let type = (statistics.min ?? statistics.max)?.dataType { types[column] = ColumnTyping.merge(types[column], type) }
            }
        }
        for field in table.definition.schema.fields where !order.contains(field.name) {
            order.append(field.name)
            types[field.name] = field.type
        }
        let columns = order.sorted().map { "{\"name\":\(JSONText.quote($0)),\"type\":\(types[$0].map { JSONText.quote($0.rawValue) } ?? "null")}" }
        var body = String(summary(table, extents).dropLast())
        body += ",\"options\":{" + table.definition.options.sorted { $0.key < $1.key }.map { JSONText.quote($0.key) + ":" + JSONText.quote($0.value) }.joined(separator: ",") + "}"
        body += ",\"columns\":[\(columns.joined(separator: ","))]}"
        return JSONResponse.ok(body)
    }

    func drop(_ name: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.admin, table: name)
        let catalog = state.services.catalog
        let extents = try await catalog.extents(table: name, matching: .all)
        try await catalog.dropTable(named: name)  // invisible first, then the objects go
        var deleted = 0
        for extent in extents {
            guard let key = try? ObjectKey(extent.objectKey) else { continue }
            if (try? await state.services.store.delete(key)) != nil { deleted += 1 }
        }
        return JSONResponse.ok("{\"dropped\":\(JSONText.quote(name)),\"extents\":\(extents.count),\"objects_deleted\":\(deleted)}")
    }

    func compact(_ request: Request, _ name: String, _ context: ServerContext) async throws -> Response {
        _ = try context.require(.admin, table: name)
        let fields = try JSONFields(RequestBodies.jsonObject(try await RequestBodies.read(request, settings: state.settings)),
                                    known: ["grace_seconds", "small_bytes"])
        guard try await state.services.catalog.table(named: name) != nil else { throw ServerError(.unknownTable, "unknown table '\(name)'") }
        let compactor = Compactor(catalog: state.services.catalog, store: state.services.store, formats: state.services.formats,
                                  smallExtentBytes: Int64(try fields.int("small_bytes", in: 1...Int(Int64.max >> 1)) ?? 64 << 20),
                                  graceSeconds: try fields.int("grace_seconds", in: 0...31_536_000) ?? 300)
        let units = try await compactor.plan(table: name)
        var merged = 0, produced = 0, rows = 0, raced = 0
        while let outcome = try await compactor.runOnce(owner: state.node.id) {
            switch outcome {
            case .merged(let inputs, let outputs, let count):
                merged += inputs
                produced += outputs
                rows += Int(count)
            case .lostRace: raced += 1
            }
        }
        let deleted = try await GarbageCollector(catalog: state.services.catalog, store: state.services.store).collectRetired(table: name)
        return JSONResponse.ok("{\"table\":\(JSONText.quote(name)),\"units\":\(units.count),\"extents_merged\":\(merged),\"extents_written\":\(produced),"
                               + "\"rows\":\(rows),\"units_lost_to_another_worker\":\(raced),\"objects_deleted\":\(deleted)}")
    }

    func tableName(_ context: ServerContext) throws(ServerError) -> String {
        try PathParameter.name(context, "table")
    }
}

/// A name from the path, percent-decoded once (`a%2Fb` names the table `a/b`; the router
/// leaves parameters encoded).
enum PathParameter {
    static func name(_ context: ServerContext, _ parameter: String) throws(ServerError) -> String {
        guard let raw = context.parameters.get(parameter), !raw.isEmpty else { throw ServerError(.badRequest, "the path names no \(parameter)") }
        guard let name = raw.removingPercentEncoding, !name.isEmpty else {
            throw ServerError(.badRequest, "the \(parameter) name in the path is not valid percent-encoded UTF-8")
        }
        return name
    }
}

enum JSONResponse {
    static func ok(_ body: String) -> Response { make(.ok, body) }

    static func make(_ status: HTTPResponse.Status, _ body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body + "\n")))
    }
}
