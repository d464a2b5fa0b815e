// A node's end of the internal API: the leaf service served over HTTP/2 on the node's leaf
// address and over the in-process transport, and clients to every node (this one through the
// in-process pair, so a coordinator calls itself the way it calls others: same messages, same
// encoding, same errors).

import Foundation
import GRPCCore
import GRPCInProcessTransport
import GRPCNIOTransportHTTP2Posix
import KymaCluster
import KymaExec
import KymaPlan
import KymaTableSource
import Synchronization

/// Why the transport could not start.
public enum TransportError: Error, Sendable, CustomStringConvertible {
    case invalidAddress(String)
    case bindFailed(address: String, reason: String)

    public var description: String {
        switch self {
        case .invalidAddress(let address): "leaf address '\(address)' is not host:port (an IPv4 host and a port 0-65535)"
        case .bindFailed(let address, let reason): "cannot serve the leaf API on \(address): \(reason)"
        }
    }
}

/// Serves this node's leaf service and calls the leaf services of all nodes.
public final class LeafTransport: Sendable {
    /// host:port the leaf service listens on (the port chosen when 0 was asked for).
    public let address: String
    public let client: GRPCLeafClient
    private let tasks: [Task<Void, Never>]
    private let servers: [GRPCServer<HTTP2ServerTransport.Posix>]
    private let inProcessServer: GRPCServer<InProcessTransport.Server>

    /// Starts serving `readers` on `bind` (host:port, port 0 for any) and in process, as node
    /// `nodeID`. Returns once the HTTP/2 listener is bound.
    public static func start(nodeID: String, bind: String, readers: any ReaderProvider) async throws(TransportError) -> LeafTransport {
        guard let (host, port) = Self.split(bind) else { throw .invalidAddress(bind) }
        let service = LeafService(readers: readers, log: ProcessInfo.processInfo.environment["KYMA_LEAF_LOG"] == "1")
        let listener = HTTP2ServerTransport.Posix(address: .ipv4(host: host, port: port), transportSecurity: .plaintext)
        let server = GRPCServer(transport: listener, services: [service])
        let inProcess = InProcessTransport()
        let inProcessServer = GRPCServer(transport: inProcess.server, services: [service])
        let inProcessClient = GRPCClient(transport: inProcess.client)
        let tasks = [
            Task<Void, Never> { try? await server.serve() },
            Task<Void, Never> { try? await inProcessServer.serve() },
            Task<Void, Never> { try? await inProcessClient.runConnections() },
        ]
        let bound: String
        do {
            let address = try await listener.listeningAddress
            guard let ipv4 = address.ipv4 else { throw TransportError.bindFailed(address: bind, reason: "bound to \(address), not IPv4") }
            bound = "\(ipv4.host):\(ipv4.port)"
        } catch {
            for task in tasks { task.cancel() }
            throw .bindFailed(address: bind, reason: "\(error)")
        }
        return LeafTransport(address: bound, client: GRPCLeafClient(selfID: nodeID, inProcess: inProcessClient),
                             tasks: tasks, servers: [server], inProcessServer: inProcessServer)
    }

    private init(address: String, client: GRPCLeafClient, tasks: [Task<Void, Never>], servers: [GRPCServer<HTTP2ServerTransport.Posix>],
                 inProcessServer: GRPCServer<InProcessTransport.Server>) {
        self.address = address
        self.client = client
        self.tasks = tasks
        self.servers = servers
        self.inProcessServer = inProcessServer
    }

    /// Stops listening, lets calls in flight finish, closes clients.
    public func stop() async {
        for server in servers { server.beginGracefulShutdown() }
        inProcessServer.beginGracefulShutdown()
        client.shutdown()
        for task in tasks { await task.value }
    }

    static func split(_ address: String) -> (String, Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        let host = String(address[..<colon])
        return host.isEmpty ? nil : (host, port)
    }
}

/// Calls leaf services: this node's in process, others over HTTP/2 (one connection per node,
/// opened on first use).
public final class GRPCLeafClient: LeafClient {
    let selfID: String
    let inProcess: GRPCClient<InProcessTransport.Client>
    private let remotes = Mutex<[String: (client: GRPCClient<HTTP2ClientTransport.Posix>, task: Task<Void, Never>)]>([:])
    /// The deadline of a call when the query has no time limit: a hung node still ends.
    public static let defaultCallTimeoutSeconds = 600.0

    init(selfID: String, inProcess: GRPCClient<InProcessTransport.Client>) {
        self.selfID = selfID
        self.inProcess = inProcess
    }

    public func scan(_ plan: PhysicalPlan, budget: QueryBudget, on node: ClusterNode, timeoutSeconds: Double?, queryID: String,
                     reply: @escaping @Sendable (LeafReply) async throws -> Void) async throws {
        var request = Kyma_Leaf_V1_ScanRequest()
        do {
            request.planJson = try PlanCoding.encoder.encode(plan)
            request.budgetJson = try PlanCoding.encoder.encode(budget)
        } catch {
            throw LeafCallError.query(.internalError("plan does not encode: \(error)"))
        }
        request.queryID = queryID
        var options = CallOptions.defaults
        options.timeout = .milliseconds(Int64(min(timeoutSeconds ?? Self.defaultCallTimeoutSeconds, 1e9) * 1000))
        options.waitForReady = false  // a node that is down fails the call at once: the units move on
        let unitCount = plan.units.count
        let handle: @Sendable (StreamingClientResponse<Kyma_Leaf_V1_UnitReply>) async throws -> Int = { response in
            var replied = 0
            for try await message in response.messages {
                let index = Int(message.unitIndex)
                guard index < unitCount else { throw LeafCallError.unavailable(reason: "\(node.id) replied for unit \(index) of \(unitCount)") }
                let output = try UnitOutput(decoding: Array(message.output))
                try await reply(LeafReply(index: index, output: output, bytesRead: Int(message.bytesRead), requests: Int(message.requests)))
                replied += 1
            }
            return replied
        }
        let replied: Int
        do {
            if node.id == selfID {
                replied = try await Kyma_Leaf_V1_Leaf.Client(wrapping: inProcess).scan(request, options: options, onResponse: handle)
            } else {
                replied = try await Kyma_Leaf_V1_Leaf.Client(wrapping: try remote(node.address)).scan(request, options: options, onResponse: handle)
            }
        } catch let error as RPCError {
            if let queryError = FailureCoding.queryError(error) { throw LeafCallError.query(queryError) }
            // A node that cannot be reached may be gone for good: drop its connection (it is
            // opened again if the node comes back) rather than keep reconnecting forever.
            if error.code == .unavailable, node.id != selfID { evict(node.address) }
            throw LeafCallError.unavailable(reason: "\(node.id) at \(node.address): \(error.code): \(error.message)")
        }
        guard replied == unitCount else {
            throw LeafCallError.unavailable(reason: "\(node.id) ended its stream after \(replied) of \(unitCount) units")
        }
    }

    func remote(_ address: String) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        try remotes.withLock { clients in
            if let existing = clients[address] { return existing.client }
            guard let (host, port) = LeafTransport.split(address) else { throw LeafCallError.unavailable(reason: "bad leaf address '\(address)'") }
            let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: host, port: port), transportSecurity: .plaintext)
            let client = GRPCClient(transport: transport)
            let task = Task<Void, Never> { try? await client.runConnections() }
            clients[address] = (client, task)
            return client
        }
    }

    func evict(_ address: String) {
        let entry = remotes.withLock { $0.removeValue(forKey: address) }
        entry?.client.beginGracefulShutdown()
        entry?.task.cancel()
    }

    func shutdown() {
        inProcess.beginGracefulShutdown()
        remotes.withLock { clients in
            for (_, entry) in clients { entry.client.beginGracefulShutdown() }
        }
    }
}
