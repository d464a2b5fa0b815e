// KymaServer: the reference HTTP server (`kyma serve`). Every route runs the engine the CLI
// runs: queries through the one `QueryService`, ingest through the one `LogIngestor`, vectors
// through `VectorCollection`. The only importer of Hummingbird (gate G2). A node keeps nothing
// of its own: configuration, the catalog, the object store, and caches (footers, loaded vector
// collections, the object cache) that are refreshed from the catalog, never the master.
//
//   request -> AccessMiddleware (key -> Principal) -> ResponseMiddleware (errors as JSON, metrics,
//   CORS) -> route -> QueryService / LogIngestor / VectorCollection -> response (streamed)

import HTTPTypes
import Hummingbird
import HummingbirdCore
import KymaCatalog
import KymaCluster
import KymaCore
import KymaExec
import KymaExtentSource
import KymaIceberg
import KymaObjectStoreCache
import KymaQueryService
import KymaRuntime
import KymaTransport
import KymaVector
import Logging
import ServiceLifecycle
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Keeps the leaf API up while the server runs; stops it on shutdown.
struct LeafTransportService: Service {
    let transport: LeafTransport

    func run() async throws {
        try? await gracefulShutdown()
        await transport.stop()
    }
}

/// What every route shares: the opened services and the server's limits and counters.
final class ServerState: Sendable {
    let services: KymaServices
    let settings: ServerSettings
    let metrics = ServerMetrics()
    let queryService: QueryService
    let queries: AdmissionGate
    let ingests: AdmissionGate
    let collections: VectorCollectionCache
    /// The Iceberg REST catalog served under /iceberg (nil when the catalog has no Iceberg side).
    let iceberg: IcebergRESTService?
    let node: NodeIdentity

    init(services: KymaServices, settings: ServerSettings, node: NodeIdentity, footers: FooterCache, scanner: (any UnitScanner)?) {
        self.services = services
        self.settings = settings
        self.node = node
        self.queryService = services.queryService(footers: footers, scanner: scanner)
        self.queries = AdmissionGate(limit: settings.maxConcurrentQueries)
        self.ingests = AdmissionGate(limit: settings.maxConcurrentIngests)
        self.collections = VectorCollectionCache(catalog: services.catalog, store: services.store)
        self.iceberg = try? services.icebergRESTService()
    }

    /// The object cache's hits and misses, when the node reads through one.
    var cacheStatistics: (hits: Int, misses: Int)? {
        guard let cache = services.store as? CachingObjectStore else { return nil }
        let statistics = cache.statistics
        return (statistics.hits, statistics.misses)
    }

    func now() -> Int64 { WallClock.nanos() }
}

/// A running server: its ports, and a way to stop it (tests, `kyma serve`'s signal handling).
public final class RunningServer: Sendable {
    public let port: Int
    /// The S3 byte plane's port, when it listens.
    public let s3Port: Int?
    /// Every route, as "METHOD /path/:parameter".
    public let routes: [String]
    let group: ServiceGroup
    let task: Task<Void, any Error>

    init(port: Int, s3Port: Int?, routes: [String], group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.s3Port = s3Port
        self.routes = routes
        self.group = group
        self.task = task
    }

    /// Stops accepting, lets requests in flight finish, and returns when the server is down
    /// (as SIGTERM does to `kyma serve`).
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}

/// The listeners of one server.
public enum ServerListener: String, Sendable {
    /// The HTTP API (queries, ingest, tables, vectors, the console).
    case api
    /// The S3 byte plane.
    case s3
}

public enum KymaServer {
    /// Runs the server until SIGTERM or SIGINT: requests in flight (acknowledged ingests
    /// included) finish, then it returns. Registers the node and keeps its heartbeat.
    /// `announce` is called once per listener as it starts listening.
    public static func run(services: KymaServices, settings: ServerSettings,
                           announce: @escaping @Sendable (ServerListener, Int) -> Void) async throws {
        let (applications, heartbeat, _) = try await make(services: services, settings: settings, announce: announce)
        defer { heartbeat.stop() }
        let group = ServiceGroup(configuration: .init(services: applications, gracefulShutdownSignals: [.sigterm, .sigint],
                                                      logger: Logger(label: "kyma-serve")))
        try await group.run()
        await heartbeat.leave(catalog: services.catalog)
    }

    /// Starts the server in a task (port 0 picks a free port) and returns once it listens.
    public static func start(services: KymaServices, settings: ServerSettings) async throws -> RunningServer {
        let api = OneShot<Int>(), s3 = OneShot<Int>()
        let (applications, heartbeat, routes) = try await make(services: services, settings: settings) { listener, port in
            (listener == .api ? api : s3).resolve(port)
        }
        let group = ServiceGroup(configuration: .init(services: applications, logger: Logger(label: "kyma-serve")))
        let task = Task {
            defer { heartbeat.stop() }
            do {
                try await group.run()
            } catch {
                api.resolve(-1)
                s3.resolve(-1)
                throw error
            }
            await heartbeat.leave(catalog: services.catalog)
            api.resolve(-1)
            s3.resolve(-1)
        }
        let port = await api.value
        let s3Port = settings.s3Host == nil ? nil : await s3.value
        guard port > 0, s3Port.map({ $0 > 0 }) ?? true else {
            await group.triggerGracefulShutdown()
            _ = await task.result
            throw ServerError(.unavailable, "the server did not start listening on \(settings.bind)" + (settings.s3Host.map { " and \($0):\(settings.s3Port)" } ?? ""))
        }
        return RunningServer(port: port, s3Port: s3Port, routes: routes, group: group, task: task)
    }

    static func make(services: KymaServices, settings: ServerSettings, announce: @escaping @Sendable (ServerListener, Int) -> Void) async throws
        -> ([any Service], NodeHeartbeat, [String])
    {
        let nodeID = NodeHeartbeat.makeNodeID(role: .server)
        let footers = FooterCache()
        // The leaf API first: the node registers the address it bound.
        var leaf: LeafTransport?
        if let leafBind = settings.leafBind {
            do {
                leaf = try await LeafTransport.start(nodeID: nodeID, bind: leafBind, readers: services.readers(footers: footers))
            } catch {
                throw ServerError(.unavailable, error.description)
            }
        }
        let identity = NodeIdentity(id: nodeID, role: .server, address: settings.bind, leafAddress: leaf?.address)
        let heartbeat = try await NodeHeartbeat.start(identity, catalog: services.catalog, intervalSeconds: settings.heartbeatSeconds)
        let scanner = leaf.map { ClusterScanner(membership: CatalogMembership(catalog: services.catalog, timeoutSeconds: settings.nodeTimeoutSeconds),
                                                client: $0.client) }
        let state = ServerState(services: services, settings: settings, node: identity, footers: footers, scanner: scanner)
        let router = Router(context: ServerContext.self)
        router.add(middleware: ResponseMiddleware(metrics: state.metrics, corsOrigins: settings.corsOrigins))
        router.add(middleware: AccessMiddleware(catalog: services.catalog, authRequired: settings.authRequired))
        let routes = RouteTable(router)
        OperationRoutes(state: state).register(routes)
        QueryRoutes(state: state).register(routes)
        TableRoutes(state: state).register(routes)
        IngestRoutes(state: state).register(routes)
        BulkRoutes(state: state).register(routes)
        OTLPRoutes(state: state).register(routes)
        VectorRoutes(state: state).register(routes)
        BucketRoutes(state: state).register(routes)
        RuleRoutes(state: state).register(routes)
        BucketSearchRoutes(state: state).register(routes)
        SourceRoutes(state: state).register(routes)
        IcebergRESTRoutes(state: state).register(routes)
        var logger = Logger(label: "kyma-serve")
        logger.logLevel = .notice
        logger.notice("kyma serve: node \(nodeID)\(leaf.map { ", leaf API (gRPC) on \($0.address)" } ?? ", leaf API off")")
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: settings.maxHeaderBytes, maxHeaderListSize: settings.maxHeaderBytes, maxHeaderFieldCount: 200)
        let app = Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()],
                                                idleTimeout: .nanoseconds(Int64(settings.idleTimeoutSeconds * 1e9)), httpDecoderConfiguration: decoder)),
            configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port), serverName: "kyma", reuseAddress: true),
            onServerRunning: { channel in announce(.api, channel.localAddress?.port ?? settings.port) },
            logger: logger)
        var applications: [any Service] = [app]
        if let leaf { applications.append(LeafTransportService(transport: leaf)) }
        if let host = settings.s3Host {
            applications.append(S3Server.application(state: state, host: host, port: settings.s3Port) { port in announce(.s3, port) })
        }
        return (applications, heartbeat, routes.entries)
    }
}

/// Renders errors as JSON (one shape for every route, unknown routes included), records each
/// request in the metrics by its route pattern, and adds CORS headers for allowed origins.
struct ResponseMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let metrics: ServerMetrics
    let corsOrigins: [String]

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let origin = request.headers[.origin].flatMap { corsOrigins.contains($0) || corsOrigins.contains("*") ? $0 : nil }
        if request.method == .options, let origin {
            return cors(Response(status: .noContent), origin: origin, preflight: true)
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // The Iceberg REST routes answer in the Iceberg spec's error model, even for auth.
            response = request.uri.path.hasPrefix("/iceberg/") ? IcebergRESTRoutes.errorResponse(error) : ServerError.from(error).response
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        // The route's pattern, not its path: table names do not multiply the series.
        metrics.observe(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: Int(response.status.code), seconds: seconds)
        if let origin { response = cors(response, origin: origin, preflight: false) }
        return response
    }

    func cors(_ response: Response, origin: String, preflight: Bool) -> Response {
        var response = response
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.vary] = "Origin"
        response.headers[.accessControlExposeHeaders] = "Kyma-Rows, Kyma-Bytes-Read, Kyma-Elapsed-Ms"
        if preflight {
            response.headers[.accessControlAllowMethods] = "GET, POST, PUT, DELETE, OPTIONS"
            response.headers[.accessControlAllowHeaders] = "Authorization, Content-Type, Content-Encoding, Idempotency-Key"
            response.headers[.accessControlMaxAge] = "600"
        }
        return response
    }
}

/// A bounded number of requests of one kind at once; past it, 429 at once (never a queue that
/// hides overload).
final class AdmissionGate: Sendable {
    let limit: Int
    private let running = Mutex(0)

    init(limit: Int) { self.limit = limit }

    /// A ticket for one request, or 429 naming the limit.
    func enter(_ what: String) throws(ServerError) -> AdmissionTicket {
        let admitted = running.withLock { count -> Bool in
            guard count < limit else { return false }
            count += 1
            return true
        }
        guard admitted else {
            throw ServerError(.overloaded, "\(limit) \(what) are running; retry shortly", retryAfterSeconds: 1)
        }
        return AdmissionTicket(self)
    }

    fileprivate func leave() { running.withLock { $0 -= 1 } }
}

/// Released exactly once: by `release()`, or when the last reference goes.
final class AdmissionTicket: Sendable {
    private let gate: AdmissionGate
    private let released = Atomic(false)

    fileprivate init(_ gate: AdmissionGate) { self.gate = gate }

    func release() {
        if !released.exchange(true, ordering: .acquiringAndReleasing) { gate.leave() }
    }

    deinit { release() }
}

/// A value set once and awaited by one or more tasks.
final class OneShot<Value: Sendable>: Sendable {
    private let state = Mutex<(value: Value?, waiters: [CheckedContinuation<Value, Never>])>((nil, []))

    /// Sets the value if none was set; false when one already was.
    @discardableResult
    func resolve(_ value: Value) -> Bool {
        let waiters = state.withLock { s -> [CheckedContinuation<Value, Never>]? in
            guard s.value == nil else { return nil }
            s.value = value
            defer { s.waiters = [] }
            return s.waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: value) }
        return true
    }

    var value: Value {
        get async {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { s -> Value? in
                    if let value = s.value { return value }
                    s.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}

enum WallClock {
    static func nanos() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

/// The router, and the list of what was registered on it (the spec test compares the two).
final class RouteTable: @unchecked Sendable {
    // Written only while the server is assembled, on one task; read after.
    let router: Router<ServerContext>
    private(set) var entries: [String] = []

    init(_ router: Router<ServerContext>) { self.router = router }

    func get(_ path: String, use handler: @Sendable @escaping (Request, ServerContext) async throws -> Response) { on(.get, path, handler) }
    func post(_ path: String, use handler: @Sendable @escaping (Request, ServerContext) async throws -> Response) { on(.post, path, handler) }
    func put(_ path: String, use handler: @Sendable @escaping (Request, ServerContext) async throws -> Response) { on(.put, path, handler) }
    func delete(_ path: String, use handler: @Sendable @escaping (Request, ServerContext) async throws -> Response) { on(.delete, path, handler) }
    func head(_ path: String, use handler: @Sendable @escaping (Request, ServerContext) async throws -> Response) { on(.head, path, handler) }

    private func on(_ method: HTTPRequest.Method, _ path: String, _ handler: @Sendable @escaping (Request, ServerContext) async throws -> Response) {
        entries.append("\(method.rawValue) \(path)")
        router.on(RouterPath(path), method: method, use: handler)
    }
}
