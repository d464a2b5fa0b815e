// `kyma dev kafka`: a Kafka for development and tests without a broker package. librdkafka's
// mock cluster (the Kafka protocol over TCP on 127.0.0.1) with the topic created, reachable at a
// fixed bootstrap address (default 127.0.0.1:9092) through a small TCP relay: the relay only
// carries the bootstrap connection, clients then talk to the mock broker it advertises.

import ArgumentParser
import Foundation
import KymaKafka
#if canImport(Glibc)
import Glibc
#endif

struct Dev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Development services.", subcommands: [Kafka.self])

    struct Kafka: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run librdkafka's mock Kafka cluster until SIGINT/SIGTERM and print its bootstrap address.")
        @Option(help: "Topic to create (repeatable).") var topic: [String] = ["events"]
        @Option(help: "Partitions per topic.") var partitions: Int32 = 3
        @Option(help: "Fixed bootstrap port on 127.0.0.1 (0: only the mock's own port).") var port = 9092

        func run() async throws {
            let cluster: KafkaMockCluster
            do {
                cluster = try KafkaMockCluster(brokers: 1)
                for name in topic { try cluster.createTopic(name, partitions: partitions) }
            } catch {
                FileHandle.standardError.write(Data("kyma: error: \(error)\n".utf8))
                throw ExitCode.failure
            }
            let mock = cluster.bootstrapServers
            var bootstrap = mock
            if port != 0 {
                guard let target = mock.split(separator: ",").first, let colon = target.lastIndex(of: ":"), let targetPort = Int(target[target.index(after: colon)...]) else {
                    FileHandle.standardError.write(Data("kyma: error: unexpected mock bootstrap '\(mock)'\n".utf8))
                    throw ExitCode.failure
                }
                do { try TCPRelay.start(listenPort: port, targetPort: targetPort) } catch {
                    FileHandle.standardError.write(Data("kyma: error: cannot listen on 127.0.0.1:\(port): \(error) (use --port 0 or another port)\n".utf8))
                    throw ExitCode.failure
                }
                bootstrap = "127.0.0.1:\(port)"
            }
            FileHandle.standardOutput.write(Data("kafka mock cluster: bootstrap.servers=\(bootstrap) (mock broker \(mock)); topics \(topic.joined(separator: ",")) with \(partitions) partitions\n".utf8))
            // Until SIGINT or SIGTERM.
            signal(SIGTERM, SIG_IGN)
            signal(SIGINT, SIG_IGN)
            let stop = DispatchSemaphore(value: 0)
            let sources = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: .global()) }
            for source in sources {
                source.setEventHandler { stop.signal() }
                source.resume()
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async { stop.wait(); continuation.resume() }
            }
            withExtendedLifetime((cluster, sources)) {}
        }
    }
}

/// Relays TCP connections from 127.0.0.1:listenPort to 127.0.0.1:targetPort (two pump threads per
/// connection).
enum TCPRelay {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func start(listenPort: Int, targetPort: Int) throws {
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = loopback(listenPort)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(server, 64) == 0 else { close(server); throw Failure(description: String(cString: strerror(errno))) }
        Thread {
            while true {
                let client = accept(server, nil, nil)
                guard client >= 0 else { if errno == EINTR { continue }; return }
                let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var target = loopback(targetPort)
                let connected = withUnsafePointer(to: &target) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                guard connected == 0 else { close(client); close(upstream); continue }
                Thread { pump(client, upstream) }.start()
                Thread { pump(upstream, client) }.start()
            }
        }.start()
    }

    static func loopback(_ port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return addr
    }

    static func pump(_ from: Int32, _ to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(from, &buffer, buffer.count)
            if n <= 0 { break }
            var sent = 0
            while sent < n {
                // MSG_NOSIGNAL: a peer that went away ends this connection, not the process (SIGPIPE).
                let w = buffer[sent..<n].withUnsafeBytes { send(to, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if w <= 0 { shutdown(from, Int32(SHUT_RDWR)); shutdown(to, Int32(SHUT_RDWR)); return }
                sent += w
            }
        }
        shutdown(to, Int32(SHUT_WR))
    }
}
