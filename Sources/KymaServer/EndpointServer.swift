// Operational endpoints of another process on the server's HTTP stack: k2i's /health, /readyz,
// /metrics, /status, /lookup and /query keep their ports and paths, served by Hummingbird like
// `kyma serve`, with every GET handed to one handler. (The hand-written socket listener k2i had
// before answered one connection at a time.)

import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

public enum EndpointServer {
    /// What the handler answers.
    public struct Reply: Sendable {
        public var status: Int
        public var contentType: String
        public var body: String

        public init(status: Int, contentType: String, body: String) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    public typealias Handler = @Sendable (_ method: String, _ path: String, _ query: [String: String]) async -> Reply

    /// Listens on `host:port` (0: any free port) and returns once it does; every GET and HEAD
    /// goes to `handler` with its path and decoded query parameters.
    public static func start(host: String, port: Int, idleTimeoutSeconds: Double = 60, handler: @escaping Handler) async throws -> RunningEndpoint {
        let router = Router()
        router.get("**") { request, _ -> Response in
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
            let reply = await handler(request.method.rawValue, request.uri.path, query)
            var headers = HTTPFields()
            headers[.contentType] = reply.contentType
            return Response(status: HTTPResponse.Status(code: reply.status), headers: headers,
                            body: ResponseBody(byteBuffer: ByteBuffer(string: reply.body)))
        }
        var logger = Logger(label: "kyma-endpoints")
        logger.logLevel = .notice
        let bound = OneShot<Int>()
        let app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(idleTimeoutSeconds * 1e9)))),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "kyma", reuseAddress: true),
            onServerRunning: { channel in bound.resolve(channel.localAddress?.port ?? port) },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task {
            do { try await group.run() } catch { bound.resolve(-1); throw error }
            bound.resolve(-1)
        }
        let actual = await bound.value
        guard actual > 0 else {
            let failure = await task.result
            if case .failure(let error) = failure { throw error }
            throw ServerError(.unavailable, "cannot listen on \(host):\(port)")
        }
        return RunningEndpoint(port: actual, group: group, task: task)
    }
}

/// A listening endpoint server.
public final class RunningEndpoint: Sendable {
    public let port: Int
    let group: ServiceGroup
    let task: Task<Void, any Error>

    init(port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.group = group
        self.task = task
    }

    /// Stops accepting and returns once requests in flight are answered.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}
