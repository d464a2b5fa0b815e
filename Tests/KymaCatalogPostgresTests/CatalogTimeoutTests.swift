// Every wait on the catalog has a limit: a server that accepts connections and never answers
// fails the connection within connect_timeout; a statement past the catalog's statement timeout
// is cancelled in PostgreSQL and fails with `.timeout`; a cancelled caller cancels its statement
// in PostgreSQL (the backend stops running it, seen in pg_stat_activity).

import Foundation
import KymaCatalog
import KymaCatalogPostgres
import KymaTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A TCP listener on 127.0.0.1 that accepts connections and never writes a byte.
final class SilentServer: @unchecked Sendable {
    let port: Int
    private let socketDescriptor: Int32
    private var accepted: [Int32] = []
    private let lock = NSLock()

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        guard bound == 0, listen(descriptor, 16) == 0 else { throw CatalogError.invalidArgument("cannot listen") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        socketDescriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [weak self] in
            while true {
                let client = accept(descriptor, nil, nil)
                guard client >= 0 else { return }
                self?.lock.lock()
                self?.accepted.append(client)
                self?.lock.unlock()
            }
        }
    }

    deinit {
        close(socketDescriptor)
        lock.lock()
        accepted.forEach { close($0) }
        lock.unlock()
    }
}

@Suite("Catalog timeouts", .serialized)
struct CatalogTimeoutTests {
    /// The time limit guards against a hang (the failure this test is about); it asserts nothing
    /// about speed.
    @Test(.timeLimit(.minutes(1))) func aServerThatNeverAnswersFailsTheConnection() async throws {
        let server = try SilentServer()
        do {
            _ = try await PostgresCatalog(url: "postgres://kyma@127.0.0.1:\(server.port)/kyma?connect_timeout=1", migrate: false)
            Issue.record("a silent server accepted as a catalog")
        } catch {
            guard case .cannotConnect(let url, let reason) = error else { Issue.record("wrong error \(error)"); return }
            #expect(url.contains("127.0.0.1:\(server.port)"))
            #expect(!reason.isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(1))) func aSlowStatementIsCancelledInPostgreSQLAtTheTimeout() async throws {
        let url = try await CatalogTestDatabase.makeURL()
        let catalog = try await PostgresCatalog(url: url, statementTimeoutSeconds: 0.5)
        do {
            _ = try await catalog.executeForTesting("SELECT pg_sleep(20), 'kyma-timeout-probe'")
            Issue.record("the statement outlived its timeout")
        } catch {
            guard case .timeout(_, let seconds) = error else { Issue.record("wrong error \(error)"); return }
            #expect(seconds == 0.5)
        }
        // The backend is not still sleeping: the cancel reached PostgreSQL.
        let observer = try await PostgresCatalog(url: url, migrate: false)
        #expect(try await backendsRunning("kyma-timeout-probe", observer) == 0)
        // The catalog still works (the connection was dropped or reused cleanly).
        #expect(try await catalog.executeForTesting("SELECT 1 AS one").first?.first == "1")
    }

    @Test(.timeLimit(.minutes(1))) func aCancelledCallerCancelsItsStatementInPostgreSQL() async throws {
        let url = try await CatalogTestDatabase.makeURL()
        let catalog = try await PostgresCatalog(url: url)
        let observer = try await PostgresCatalog(url: url, migrate: false)
        let task = Task { try await catalog.executeForTesting("SELECT pg_sleep(30), 'kyma-cancel-probe'") }
        // Wait for the statement to be running in PostgreSQL (an event, not a sleep).
        var running = 0
        for _ in 0..<300 where running == 0 {
            running = try await backendsRunning("kyma-cancel-probe", observer)
            if running == 0 { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(running == 1, "the probe statement never started")
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("a cancelled statement ran to the end")
        } catch {
            guard case .cancelled? = error as? CatalogError else { Issue.record("wrong error \(error)"); return }
        }
        #expect(try await backendsRunning("kyma-cancel-probe", observer) == 0)
    }

    func backendsRunning(_ marker: String, _ catalog: PostgresCatalog) async throws -> Int {
        let rows = try await catalog.executeForTesting(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%\(marker)%' AND query NOT LIKE '%pg_stat_activity%'")
        return Int(rows.first?.first.flatMap { $0 } ?? "0") ?? 0
    }
}
