// Who is calling and what they may do. Every request carries at most one bearer token
// (`Authorization: Bearer kyma_<id>_<secret>`, or `ApiKey <token>` as Elasticsearch clients
// send it); the key is looked up in the catalog per request, so a revoked key stops working at
// once. Routes authorize with `require(_:table:)`: a role at least the route's, and a table
// (or vector collection) inside the key's scope.

import HTTPTypes
import Hummingbird
import KymaCatalog

/// The caller of one request.
public struct Principal: Sendable, Hashable {
    public var keyID: String
    public var role: APIKeyRole
    public var tables: [String]?

    /// The principal of a server without keys (`--no-auth`): everything is allowed.
    static let unrestricted = Principal(keyID: "none", role: .admin, tables: nil)
}

/// The request context of every route: Hummingbird's core storage and the caller.
public struct ServerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by the access middleware before any route that is not public runs.
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.principal = nil
    }

    /// The caller, if their role reaches `role` and their scope covers `table` (when given).
    func require(_ role: APIKeyRole, table: String? = nil) throws(ServerError) -> Principal {
        guard let principal else { throw ServerError(.unauthorized, "this route needs an API key: Authorization: Bearer kyma_...") }
        guard principal.role >= role else {
            throw ServerError(.forbidden, "key '\(principal.keyID)' has role \(principal.role.rawValue); this needs \(role.rawValue)")
        }
        if let table, let scope = principal.tables, !scope.contains(table) {
            throw ServerError(.forbidden, "key '\(principal.keyID)' may not use '\(table)' (its tables: \(scope.joined(separator: ", ")))")
        }
        return principal
    }

    /// Whether the caller may see `table` (listings leave out what they may not).
    func mayUse(_ table: String) -> Bool {
        guard let principal else { return false }
        return principal.tables.map { $0.contains(table) } ?? true
    }
}

/// Authenticates every request that is not public, before routing.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let catalog: any Catalog
    let authRequired: Bool

    /// Paths anyone may read: liveness, readiness, metrics, the API spec and the console page.
    static func isPublic(_ path: String) -> Bool {
        path == "/" || path == "/health" || path == "/readyz" || path == "/metrics" || path == "/openapi.yaml" || path.hasPrefix("/console/")
    }

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        var context = context
        guard authRequired else {
            context.principal = .unrestricted
            return try await next(request, context)
        }
        if let header = request.headers[.authorization] {
            context.principal = try await authenticate(header)
        } else if !Self.isPublic(request.uri.path) && request.method != .options {
            throw ServerError(.unauthorized, "this route needs an API key: Authorization: Bearer kyma_... (create one with kyma keys create)")
        }
        return try await next(request, context)
    }

    func authenticate(_ header: String) async throws -> Principal {
        let token: Substring
        if header.hasPrefix("Bearer ") {
            token = header.dropFirst("Bearer ".count)
        } else if header.hasPrefix("ApiKey ") {
            token = header.dropFirst("ApiKey ".count)
        } else {
            throw ServerError(.unauthorized, "the Authorization header must be 'Bearer <key>'")
        }
        // Never echo the token: the message names only its id when it has one.
        guard let (id, secret) = APIKeyToken.parse(String(token.trimmingPrefix(" "))) else {
            throw ServerError(.unauthorized, "the bearer token is not a Kyma API key")
        }
        guard let (record, hash) = try await catalog.apiKey(id: id), !record.revoked,
              APIKeyToken.matches(secret: secret, secretHash: hash) else {
            throw ServerError(.unauthorized, "API key '\(id)' is unknown, revoked or wrong")
        }
        return Principal(keyID: record.id, role: record.role, tables: record.tables)
    }
}
