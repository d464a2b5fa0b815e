// OTLP/HTTP logs: `POST /v1/logs` with an `ExportLogsServiceRequest` in protobuf
// (`application/x-protobuf`) or OTLP/JSON (`application/json`), identity or gzip. Each log record
// becomes a row (KymaOTLP: resource and scope attributes become columns) of the table named by
// the `X-Kyma-Table` header or `?table=` (default `otel_logs`), whose time column is
// `timestamp`. The reply is an `ExportLogsServiceResponse` in the request's encoding, with a
// partial success naming records that could not be stored.

import Foundation
import HTTPTypes
import Hummingbird
import KymaIngest
import KymaOTLP
import NIOCore

struct OTLPRoutes {
    let state: ServerState
    static let defaultTable = "otel_logs"

    func register(_ router: RouteTable) {
        router.post("/v1/logs") { request, context in
            let table = request.headers[HTTPField.Name("X-Kyma-Table")!] ?? request.uri.queryParameters["table"].map(String.init) ?? Self.defaultTable
            _ = try context.require(.write, table: table)
            let type = (request.headers[.contentType] ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            let json: Bool
            switch type {
            case "application/x-protobuf", "application/protobuf": json = false
            case "application/json": json = true
            default:
                throw ServerError(.unsupportedMediaType, "OTLP/HTTP logs are application/x-protobuf or application/json, not '\(type)'")
            }
            let body = try await RequestBodies.read(request, settings: state.settings)
            let rows = json ? try OTLPLogs.rows(json: body, receivedNanos: state.now()) : try OTLPLogs.rows(protobuf: body, receivedNanos: state.now())
            var rejected = 0
            var message = ""
            if rows.records > 0 {
                let report = try await Ingestion(state: state).ingest(rows.lines, into: table, context: context, timeField: OTLPLogs.timeColumn,
                                                                     timeFormat: .epochNanos)
                rejected = report.skipped.count
                message = report.skipped.first.map { "record \($0.line): \($0.reason)" } ?? ""
            }
            var headers = HTTPFields()
            headers[.contentType] = json ? "application/json" : "application/x-protobuf"
            let reply: ByteBuffer = json ? ByteBuffer(string: OTLPLogs.jsonResponse(rejected: rejected, message: message))
                : ByteBuffer(bytes: OTLPLogs.response(rejected: rejected, message: message))
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: reply))
        }
    }
}
