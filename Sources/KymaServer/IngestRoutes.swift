// Ingest over HTTP: `POST /v1/tables/{t}/ingest` with NDJSON or text lines (identity, gzip or
// zstd), through the one log ingestor the CLI uses. A reply is sent only once the rows are in
// the object store and committed in the catalog, so an acknowledged request survives kill -9.
//
// Query parameters: time_field, time_format (rfc3339, epoch_s/ms/us/ns), input (json|text, else
// from Content-Type), on_error (skip, the default: bad lines are named in the reply and left out;
// reject: any bad line rejects the request). `Idempotency-Key` makes the body one client batch:
// a retry of the same bytes commits nothing twice, other bytes under the key are refused (409).
// Bodies over 200,000 lines are committed in parts of that many lines, in order; without a key a
// failed request may have committed a prefix of parts (the reply says so); with one a retry
// finishes exactly the rest.

import Foundation
import HTTPTypes
import Hummingbird
import KymaCatalog
import KymaCore
import KymaIngest

/// The one way server routes ingest lines: admission, the table's time column, the ingestor.
struct Ingestion {
    let state: ServerState
    static let linesPerPart = 200_000

    /// Ingests `lines` into `table` for the caller (who must have write on it). `timeField` nil:
    /// the table's time column when it has one, else `defaultTimeField` for a new table.
    func ingest(_ lines: [UInt8], into table: String, context: ServerContext, kind: InputKind = .jsonLines, timeField: String?,
                defaultTimeField: String? = nil, timeFormat: TimeFormat = .rfc3339, onError: OnError = .skip, batchID: String? = nil) async throws -> IngestReport {
        _ = try context.require(.write, table: table)
        let ticket = try state.ingests.enter("ingest requests")
        state.metrics.open(ingest: 1)
        defer {
            ticket.release()
            state.metrics.open(ingest: -1)
        }
        var options = IngestOptions()
        options.kind = kind
        options.timeFormat = timeFormat
        options.onError = onError
        let existing = try await state.services.catalog.table(named: table)
        if let timeField {
            options.timeField = timeField == "_time" ? nil : timeField
        } else if let existing {
            options.timeField = existing.definition.timeColumn.flatMap { $0 == "_time" ? nil : $0 }
        } else {
            options.timeField = defaultTimeField
        }
        if kind == .text, options.timeField != nil {
            throw ServerError(.badRequest, "text lines carry no time field: table '\(table)' has time column '\(options.timeField ?? "")'; ingest JSON lines")
        }
        let report: IngestReport
        do {
            report = try await LogIngestor(catalog: state.services.catalog, store: state.services.store, formats: state.services.formats)
                .ingest(lines, into: table, batchID: batchID, linesPerPart: Self.linesPerPart, options: options, nowNanos: state.now())
        } catch .rejected(let errors) {
            state.metrics.add("kyma_ingest_rejected_lines_total", Double(errors.count))
            throw ServerError(.badRequest, IngestError.rejected(errors).description)
        } catch {
            throw ServerError(error)
        }
        state.metrics.add("kyma_ingest_rows_total", Double(report.rowsWritten))
        state.metrics.add("kyma_ingest_bytes_total", Double(lines.count))
        state.metrics.add("kyma_ingest_rejected_lines_total", Double(report.skipped.count))
        return report
    }
}

struct IngestRoutes {
    let state: ServerState

    func register(_ router: RouteTable) {
        router.post("/v1/tables/:table/ingest") { request, context in
            let table = try PathParameter.name(context, "table")
            _ = try context.require(.write, table: table)
            let query = request.uri.queryParameters
            let known: Set = ["time_field", "time_format", "input", "on_error"]
            if let unknown = query.map({ String($0.key) }).sorted().first(where: { !known.contains($0) }) {
                throw ServerError(.badRequest, "unknown parameter '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
            }
            let kind = try inputKind(query["input"].map(String.init), contentType: request.headers[.contentType])
            guard let timeFormat = TimeFormat(rawValue: query["time_format"].map(String.init) ?? "rfc3339") else {
                throw ServerError(.badRequest, "unknown time_format '\(query["time_format"] ?? "")' (\(TimeFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let onError = OnError(rawValue: query["on_error"].map(String.init) ?? "skip") else {
                throw ServerError(.badRequest, "unknown on_error '\(query["on_error"] ?? "")' (skip or reject)")
            }
            let key = request.headers[.idempotencyKey]
            if let key, key.isEmpty || key.utf8.count > BatchPart.maxIDBytes {
                throw ServerError(.badRequest, "Idempotency-Key must be 1 to \(BatchPart.maxIDBytes) bytes")
            }
            let body = try await RequestBodies.read(request, settings: state.settings)
            let report = try await Ingestion(state: state).ingest(
                body, into: table, context: context, kind: kind, timeField: query["time_field"].map(String.init), timeFormat: timeFormat,
                onError: onError, batchID: key.map { "http:" + $0 })
            let rejected = report.skipped.prefix(1000).map { "{\"line\":\($0.line),\"reason\":\(JSONText.quote($0.reason))}" }
            var reply = "{\"table\":\(JSONText.quote(table)),\"accepted\":\(report.rowsWritten),\"rejected_count\":\(report.skipped.count),"
            reply += "\"rejected\":[\(rejected.joined(separator: ","))],\"extents\":\(report.extents.count)"
            if key != nil { reply += ",\"idempotent_replay\":\(report.outcome == .alreadyCommitted)" }
            return JSONResponse.ok(reply + "}")
        }
    }

    /// JSON lines or text lines, from `input=` or else the content type.
    func inputKind(_ input: String?, contentType: String?) throws(ServerError) -> InputKind {
        if let input {
            guard let kind = InputKind(rawValue: input == "ndjson" ? "json" : input) else {
                throw ServerError(.badRequest, "unknown input '\(input)' (json or text)")
            }
            return kind
        }
        let type = (contentType ?? "application/x-ndjson").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch type {
        case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/json", "application/x-jsonlines", "":
            return .jsonLines
        case "text/plain": return .text
        default:
            throw ServerError(.unsupportedMediaType, "Content-Type '\(type)' is not ingestible: send application/x-ndjson or text/plain (or input=json|text)")
        }
    }
}
