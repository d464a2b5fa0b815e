// The Iceberg REST catalog API (apache/iceberg open-api/rest-catalog-open-api.yaml) under
// /iceberg, over Kyma's own Iceberg catalog (docs/k3.md). Point a client at
// `http://HOST:7878/iceberg` with an API key as its bearer token:
//   GET    /iceberg/v1/config
//   GET    /iceberg/v1/namespaces                           POST (create)
//   GET    /iceberg/v1/namespaces/{ns}                      HEAD, DELETE
//   POST   /iceberg/v1/namespaces/{ns}/properties
//   GET    /iceberg/v1/namespaces/{ns}/tables               POST (create)
//   GET    /iceberg/v1/namespaces/{ns}/tables/{t}           HEAD, POST (commit), DELETE
//   POST   /iceberg/v1/tables/rename
// Reads need a read key, changes a write key. Errors are the spec's ErrorModel
// `{"error": {"message", "type", "code"}}`, so clients raise their own exceptions
// (NoSuchTableError, CommitFailedException...).

import Foundation
import HTTPTypes
import Hummingbird
import KymaCatalog
import KymaCore
import KymaIceberg

struct IcebergRESTRoutes {
    let state: ServerState

    func register(_ router: RouteTable) {
        let base = "/iceberg/v1"
        router.get("\(base)/config") { _, context in
            try await answer(context, .read) { _ in ["defaults": [String: String](), "overrides": [String: String]()] }
        }
        router.get("\(base)/namespaces") { _, context in try await answer(context, .read) { service in try await service.listNamespaces() } }
        router.post("\(base)/namespaces") { request, context in
            let body = try await json(request)
            return try await answer(context, .write, status: .ok) { service in try await service.createNamespace(body) }
        }
        router.get("\(base)/namespaces/:namespace") { _, context in
            try await answer(context, .read) { service in try await service.loadNamespace(try namespace(context)) }
        }
        router.head("\(base)/namespaces/:namespace") { _, context in
            try await answer(context, .read, status: .noContent) { service in _ = try await service.loadNamespace(try namespace(context)); return nil }
        }
        router.delete("\(base)/namespaces/:namespace") { _, context in
            try await answer(context, .write, status: .noContent) { service in try await service.dropNamespace(try namespace(context)); return nil }
        }
        router.post("\(base)/namespaces/:namespace/properties") { request, context in
            let body = try await json(request)
            return try await answer(context, .write) { service in try await service.updateNamespaceProperties(try namespace(context), body) }
        }
        router.get("\(base)/namespaces/:namespace/tables") { _, context in
            try await answer(context, .read) { service in try await service.listTables(try namespace(context)) }
        }
        router.post("\(base)/namespaces/:namespace/tables") { request, context in
            let body = try await json(request)
            return try await answer(context, .write) { service in try await service.createTable(try namespace(context), body, nowMillis: state.now() / 1_000_000) }
        }
        router.get("\(base)/namespaces/:namespace/tables/:table") { _, context in
            try await answer(context, .read) { service in try await service.loadTable(try table(context)) }
        }
        router.head("\(base)/namespaces/:namespace/tables/:table") { _, context in
            try await answer(context, .read, status: .noContent) { service in _ = try await service.loadTable(try table(context)); return nil }
        }
        router.post("\(base)/namespaces/:namespace/tables/:table") { request, context in
            let body = try await json(request)
            return try await answer(context, .write) { service in try await service.commit(try table(context), body, nowMillis: state.now() / 1_000_000) }
        }
        router.delete("\(base)/namespaces/:namespace/tables/:table") { _, context in
            try await answer(context, .write, status: .noContent) { service in try await service.dropTable(try table(context)); return nil }
        }
        router.post("\(base)/tables/rename") { request, context in
            let body = try await json(request)
            return try await answer(context, .write, status: .noContent) { service in try await service.renameTable(body); return nil }
        }
    }

    func json(_ request: Request) async throws -> [String: Any] {
        do {
            return try RequestBodies.jsonObject(try await RequestBodies.read(request, settings: state.settings))
        } catch {
            throw IcebergRESTError(error.kind.status == .contentTooLarge ? 413 : 400, "BadRequestException", error.message)
        }
    }

    func namespace(_ context: ServerContext) throws -> String {
        try IcebergRESTService.namespace(try PathParameter.name(context, "namespace"))
    }

    func table(_ context: ServerContext) throws -> IcebergTableIdentifier {
        IcebergTableIdentifier(namespace: try namespace(context), name: try PathParameter.name(context, "table"))
    }

    /// Runs `body` for an authorised key and answers with its JSON (nil: no body), or with the
    /// spec's ErrorModel for any failure, the server's own (auth, limits) included.
    func answer(_ context: ServerContext, _ role: APIKeyRole, status: HTTPResponse.Status = .ok,
                _ body: (IcebergRESTService) async throws -> [String: Any]?) async throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        do {
            _ = try context.require(role)
            guard let service = state.iceberg else { throw IcebergRESTError(503, "ServiceUnavailableException", "this server's catalog has no Iceberg catalog") }
            guard let value = try await body(service) else { return Response(status: status, headers: headers) }
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: try JSONText.encode(value))))
        } catch {
            return Self.errorResponse(error)
        }
    }

    /// Any failure as the spec's ErrorModel, with its status (the server's own errors keep
    /// theirs: 401, 403, 413, 429...).
    static func errorResponse(_ error: any Error) -> Response {
        let model: IcebergRESTError
        switch error {
        case let error as IcebergRESTError: model = error
        default:
            let server = ServerError.from(error)
            model = IcebergRESTError(Int(server.kind.status.code), server.kind.rawValue, server.message)
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if model.code == 401 { headers[.wwwAuthenticate] = "Bearer realm=\"kyma\"" }
        let payload: [String: Any] = ["error": ["message": model.message, "type": model.type, "code": model.code] as [String: Any]]
        return Response(status: HTTPResponse.Status(code: model.code), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: (try? JSONText.encode(payload)) ?? Array("{}".utf8))))
    }
}
