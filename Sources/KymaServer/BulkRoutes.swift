// Elasticsearch-compatible bulk ingest: `POST|PUT /_bulk` and `/{index}/_bulk`, as the official
// clients send it (NDJSON pairs of an action line and a document). An index is a table; `index`
// and `create` actions append the document (tables are append-only, so `delete` and `update`
// fail per item). The reply has ES's shape: took, errors, and one result per action in order,
// with per-item statuses, so `helpers.bulk` reports exactly the documents that failed.
//
// A new index takes `@timestamp` as its time column when every document for it in the request
// has that field (parsed, not searched for); otherwise rows get the ingest time (`_time`). An
// existing table keeps its time column. `_id` is echoed, not stored (generated when absent).

import Foundation
import HTTPTypes
import Hummingbird
import KymaCore
import KymaIngest
import NIOCore

struct BulkRoutes {
    let state: ServerState

    func register(_ router: RouteTable) {
        // Elasticsearch takes both methods; its Python client sends PUT.
        for register in [router.post, router.put] {
            register("/_bulk") { request, context in await elastic { try await bulk(request, context, defaultIndex: nil) } }
            register("/:index/_bulk") { request, context in
                await elastic { try await bulk(request, context, defaultIndex: try PathParameter.name(context, "index")) }
            }
        }
    }

    /// Elasticsearch clients check that answers come from Elasticsearch: every answer here, an
    /// error too, says so.
    func elastic(_ body: () async throws -> Response) async -> Response {
        var response: Response
        do { response = try await body() } catch { response = ServerError.from(error).response }
        response.headers[HTTPField.Name("X-Elastic-Product")!] = "Elasticsearch"
        return response
    }

    struct Item {
        var action: String
        var index: String
        var id: String
        /// The document line, for index and create.
        var document: ArraySlice<UInt8>?
        /// Set once the item failed: (status, ES error type, reason).
        var failure: (Int, String, String)?
    }

    func bulk(_ request: Request, _ context: ServerContext, defaultIndex: String?) async throws -> Response {
        _ = try context.require(.write, table: defaultIndex)
        let started = ContinuousClock.now
        let body = try await RequestBodies.read(request, settings: state.settings)
        var items = try parse(body, defaultIndex: defaultIndex)
        // Documents grouped by index, each group ingested once; item order is kept for the reply.
        var order: [String] = []
        var groups: [String: [Int]] = [:]
        for (position, item) in items.enumerated() where item.failure == nil {
            if groups[item.index] == nil { order.append(item.index) }
            groups[item.index, default: []].append(position)
        }
        for index in order {
            let positions = groups[index] ?? []
            var lines: [UInt8] = []
            for position in positions {
                lines.append(contentsOf: items[position].document ?? [])
                lines.append(0x0A)
            }
            do {
                // A new index's time column: @timestamp when every document here has it (parsed
                // only then: an existing table already has its time column). A document that does
                // not parse fails on its own and does not decide.
                var everyTimestamped = false
                if try await state.services.catalog.table(named: index) == nil {
                    let parsed = positions.compactMap { try? JSONLineParser.flatten(items[$0].document ?? []) }
                    everyTimestamped = !parsed.isEmpty && parsed.allSatisfy { fields in fields.contains { $0.0 == "@timestamp" } }
                }
                let report = try await Ingestion(state: state).ingest(lines, into: index, context: context, timeField: nil,
                                                                     defaultTimeField: everyTimestamped ? "@timestamp" : nil)
                for skipped in report.skipped where skipped.line >= 1 && skipped.line <= positions.count {
                    items[positions[skipped.line - 1]].failure = (400, "document_parsing_exception", skipped.reason)
                }
            } catch {
                let failure = ServerError.from(error)
                for position in positions { items[position].failure = (Int(failure.kind.status.code), Self.errorType(failure.kind), failure.message) }
            }
        }
        let took = Int((ContinuousClock.now - started).components.seconds * 1000) + Int((ContinuousClock.now - started).components.attoseconds / 1_000_000_000_000_000)
        var out = "{\"took\":\(took),\"errors\":\(items.contains { $0.failure != nil }),\"items\":["
        for (position, item) in items.enumerated() {
            if position > 0 { out += "," }
            out += "{\(JSONText.quote(item.action)):{\"_index\":\(JSONText.quote(item.index)),\"_id\":\(JSONText.quote(item.id)),"
            if let (status, type, reason) = item.failure {
                out += "\"status\":\(status),\"error\":{\"type\":\(JSONText.quote(type)),\"reason\":\(JSONText.quote(reason))}}}"
            } else {
                out += "\"_version\":1,\"result\":\"created\",\"_shards\":{\"total\":1,\"successful\":1,\"failed\":0},"
                out += "\"_seq_no\":\(position),\"_primary_term\":1,\"status\":201}}"
            }
        }
        return JSONResponse.ok(out + "]}")
    }

    /// The actions of a bulk body. A malformed action line fails the whole request (as in
    /// Elasticsearch); a malformed document fails its item only.
    func parse(_ body: [UInt8], defaultIndex: String?) throws(ServerError) -> [Item] {
        var lines = body.split(separator: 0x0A, omittingEmptySubsequences: false)[...]
        var items: [Item] = []
        let ids = IDGenerator()
        var lineNumber = 0
        while let line = lines.popFirst() {
            lineNumber += 1
            let trimmed = line.last == 0x0D ? line.dropLast() : line
            if trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            guard let (action, meta) = Self.action(trimmed) else {
                throw ServerError(.badRequest, "line \(lineNumber): a bulk action line must be one object like {\"index\":{\"_index\":\"t\"}}")
            }
            let index = meta["_index"] ?? defaultIndex
            let id = meta["_id"] ?? ids.id(items.count)
            var item = Item(action: action, index: index ?? "", id: id)
            switch action {
            case "index", "create":
                guard let document = lines.popFirst() else {
                    throw ServerError(.badRequest, "line \(lineNumber): the \(action) action has no document line after it")
                }
                lineNumber += 1
                item.document = document.last == 0x0D ? document.dropLast() : document
                if index == nil || index?.isEmpty == true {
                    item.failure = (400, "action_request_validation_exception", "index is missing: give _index or use /{index}/_bulk")
                }
            case "update":
                _ = lines.popFirst()  // its partial document
                lineNumber += 1
                item.failure = (400, "illegal_argument_exception", "Kyma tables are append-only: update is not supported")
            case "delete":
                item.failure = (400, "illegal_argument_exception", "Kyma tables are append-only: delete is not supported")
            default:
                throw ServerError(.badRequest, "line \(lineNumber): unknown bulk action '\(action)' (index, create, update or delete)")
            }
            items.append(item)
        }
        return items
    }

    /// The action and its metadata (`_index`, `_id`) of an action line, read with the one JSON
    /// line parser; nil when the line is not one object holding one object.
    static func action(_ line: ArraySlice<UInt8>) -> (String, [String: String])? {
        guard let fields = try? JSONLineParser.flatten(line) else { return nil }
        guard let first = fields.first?.0, let dot = first.firstIndex(of: ".") else {
            // {"index":{}} flattens to nothing, {"index":1} to a bare key: tell them apart.
            let text = String(decoding: line, as: UTF8.self).filter { !$0.isWhitespace }
            guard fields.isEmpty, text.hasPrefix("{\""), text.hasSuffix("\":{}}") else { return nil }
            return (String(text.dropFirst(2).dropLast(5)), [:])
        }
        let action = String(first[..<dot])
        var meta: [String: String] = [:]
        for (key, value) in fields {
            guard key.hasPrefix(action + ".") else { return nil }  // a second top-level key
            let name = String(key.dropFirst(action.count + 1))
            switch value {
            case .string(let text): meta[name] = text
            case .int64(let number): meta[name] = String(number)
            default: break
            }
        }
        return (action, meta)
    }

    static func errorType(_ kind: ServerError.Kind) -> String {
        switch kind {
        case .overloaded: "es_rejected_execution_exception"
        case .forbidden, .unauthorized: "security_exception"
        case .unavailable, .timeout: "unavailable_shards_exception"
        default: "illegal_argument_exception"
        }
    }

    /// Ids like Elasticsearch's, 20 URL-safe base64 characters: a random request prefix (one
    /// system random draw; a draw per character was a getrandom call each, most of a request's
    /// time) and the item's position.
    struct IDGenerator {
        static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let prefix: [UInt8]

        init() {
            var bits = UInt64.random(in: 0...UInt64.max)
            prefix = (0..<10).map { _ in
                defer { bits >>= 6 }
                return Self.alphabet[Int(bits & 63)]
            }
        }

        func id(_ position: Int) -> String {
            var bytes = prefix
            var n = position
            for _ in 0..<10 {
                bytes.append(Self.alphabet[n & 63])
                n >>= 6
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
