// The server's one error type and the one place errors become HTTP responses:
// `{"error":{"kind","message","position"?}}` with the status of the kind. Lower layers' errors
// (queries, the catalog, ingest, vectors, OTLP) are converted here and nowhere else; a query
// error's status comes from `QueryErrorKind.httpStatus`, the mapping the CLI's exit statuses share.

import HTTPTypes
import Hummingbird
import KymaCatalog
import KymaCore
import KymaEmbedding
import KymaIngest
import KymaOTLP
import KymaPlan
import KymaQueryService
import KymaVector

public struct ServerError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, from the client's side: each kind has one status.
    public enum Kind: String, Sendable, CaseIterable {
        case badRequest = "bad_request"
        case badQuery = "bad_query"
        case unauthorized
        case forbidden
        case notFound = "not_found"
        case unknownTable = "unknown_table"
        case methodNotAllowed = "method_not_allowed"
        case timeout
        case conflict
        case payloadTooLarge = "payload_too_large"
        case unsupportedMediaType = "unsupported_media_type"
        case budgetExceeded = "budget_exceeded"
        case overloaded
        case cancelled
        case unavailable
        case corruptData = "corrupt_data"
        case internalError = "internal_error"

        public var status: HTTPResponse.Status {
            switch self {
            case .badRequest, .badQuery: .badRequest
            case .unauthorized: .unauthorized
            case .forbidden: .forbidden
            case .notFound, .unknownTable: .notFound
            case .methodNotAllowed: .methodNotAllowed
            case .timeout: .requestTimeout
            case .conflict: .conflict
            case .payloadTooLarge: .contentTooLarge
            case .unsupportedMediaType: .unsupportedMediaType
            case .budgetExceeded: .contentTooLarge
            case .overloaded: .tooManyRequests
            case .cancelled: HTTPResponse.Status(code: 499, reasonPhrase: "Client Closed Request")
            case .unavailable: .serviceUnavailable
            case .corruptData, .internalError: .internalServerError
            }
        }
    }

    public var kind: Kind
    public var message: String
    public var position: SourcePosition?
    /// Seconds a client should wait before retrying (429 and 503).
    public var retryAfterSeconds: Int?

    public init(_ kind: Kind, _ message: String, position: SourcePosition? = nil, retryAfterSeconds: Int? = nil) {
        self.kind = kind
        self.message = message
        self.position = position
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    /// The error as JSON: `{"error":{"kind":...,"message":...,"position":{"line":L,"column":C}}}`.
    public var json: String {
        var body = "{\"error\":{\"kind\":\(JSONText.quote(kind.rawValue)),\"message\":\(JSONText.quote(message))"
        if let position { body += ",\"position\":{\"line\":\(position.line),\"column\":\(position.column)}" }
        return body + "}}"
    }

    public var response: Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        if kind == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"kyma\"" }
        return Response(status: kind.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: json + "\n")))
    }

    // MARK: - From the layers below

    public init(_ error: QueryError) {
        let kind: Kind
        switch error.kind {
        case .badQuery: kind = .badQuery
        case .unknownTable: kind = .unknownTable
        case .budgetExceeded: kind = .budgetExceeded
        case .timeout: kind = .timeout
        case .cancelled: kind = .cancelled
        case .catalogUnavailable, .storageUnavailable, .nodeUnavailable: kind = .unavailable
        case .corruptData: kind = .corruptData
        case .internalError: kind = .internalError
        }
        self.init(kind, error.description, position: error.position, retryAfterSeconds: kind == .unavailable ? 1 : nil)
        assert(Int(kind.status.code) == error.kind.httpStatus, "one mapping of query error kinds to statuses")
    }

    public init(_ error: CatalogError) {
        switch error {
        case .cannotConnect, .connectionLost, .timeout, .migration, .schemaTooNew:
            self.init(.unavailable, error.description, retryAfterSeconds: 1)
        case .conflict, .batchMismatch: self.init(.conflict, error.description)
        case .constraint, .invalidArgument: self.init(.badRequest, error.description)
        case .tableNotFound(let name): self.init(.unknownTable, "unknown table '\(name)'")
        case .cancelled: self.init(.cancelled, error.description)
        case .uploadCollected: self.init(.unavailable, error.description, retryAfterSeconds: 1)
        case .query: self.init(.unavailable, error.description, retryAfterSeconds: 1)
        }
    }

    public init(_ error: IngestError) {
        switch error {
        case .rejected: self.init(.badRequest, error.description)
        case .tableFormat, .timeColumnMismatch: self.init(.badRequest, error.description)
        case .format: self.init(.badRequest, error.description)
        case .store: self.init(.unavailable, error.description, retryAfterSeconds: 1)
        case .catalog(let catalog): self.init(catalog)
        case .unexpected: self.init(.internalError, error.description)
        }
    }

    public init(_ error: VectorError) {
        switch error {
        case .unknownCollection: self.init(.notFound, error.description)
        case .collectionExists: self.init(.conflict, error.description)
        case .invalidDefinition, .invalidRecord, .invalidQuery: self.init(.badRequest, error.description)
        case .catalog(let catalog): self.init(catalog)
        case .store: self.init(.unavailable, error.description, retryAfterSeconds: 1)
        case .corrupt: self.init(.corruptData, error.description)
        }
    }

    public init(_ error: EmbeddingError) {
        switch error.kind {
        case .invalidOptions: self.init(.badRequest, error.description)
        // The embedding service is a dependency, as the catalog is: its failures are ours to report as such.
        case .unavailable, .rejected, .badResponse: self.init(.unavailable, error.description, retryAfterSeconds: 1)
        }
    }

    public init(_ error: OTLPError) {
        self.init(.badRequest, error.description)
    }

    /// Any error a handler let through, as the client should see it.
    static func from(_ error: any Error) -> ServerError {
        switch error {
        case let error as ServerError: error
        case let error as QueryError: ServerError(error)
        case let error as CatalogError: ServerError(error)
        case let error as IngestError: ServerError(error)
        case let error as VectorError: ServerError(error)
        case let error as OTLPError: ServerError(error)
        case let error as EmbeddingError: ServerError(error)
        case let error as HTTPError: ServerError(http: error)
        case is CancellationError: ServerError(.cancelled, "the request was cancelled")
        default: ServerError(.internalError, "unexpected failure: \(error)")
        }
    }

    /// Hummingbird's own errors: unknown routes, bodies over a limit, malformed requests.
    init(http error: HTTPError) {
        let kind: Kind
        switch error.status {
        case .notFound: kind = .notFound
        case .methodNotAllowed: kind = .methodNotAllowed
        case .contentTooLarge: kind = .payloadTooLarge
        case .unsupportedMediaType: kind = .unsupportedMediaType
        case .unauthorized: kind = .unauthorized
        case .forbidden: kind = .forbidden
        case .requestTimeout: kind = .timeout
        case .tooManyRequests: kind = .overloaded
        case .serviceUnavailable: kind = .unavailable
        default: kind = error.status.code < 500 ? .badRequest : .internalError
        }
        let message = error.body ?? (error.status == .notFound ? "no route matches this method and path" : error.status.reasonPhrase.lowercased())
        self.init(kind, message)
    }
}
