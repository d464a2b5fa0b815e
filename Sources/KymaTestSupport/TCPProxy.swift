// A TCP proxy between a test's client and a real service (PostgreSQL), which the test can cut:
// every connection through it breaks and new ones are refused until it is restored. It stands in
// for a network partition or a crashed catalog host without stopping the shared service.

#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

public final class TCPProxy: Sendable {
    /// The port clients connect to (on 127.0.0.1).
    public let port: Int
    private let listener: Int32
    private let targetPort: Int
    private let state = Mutex<(cut: Bool, stopped: Bool, sockets: Set<Int32>)>((false, false, []))

    /// Listens on 127.0.0.1 at a free port and forwards to 127.0.0.1:`targetPort`.
    public init(targetPort: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ProxyError(reason: "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw ProxyError(reason: "bind/listen: \(String(cString: strerror(errno)))")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.listener = fd
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        self.targetPort = targetPort
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "tcp-proxy-accept"
        thread.start()
    }

    public struct ProxyError: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { "TCP proxy: \(reason)" }
    }

    /// Breaks every connection through the proxy and refuses new ones.
    public func cut() {
        let open = state.withLock { s -> Set<Int32> in
            s.cut = true
            return s.sockets
        }
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Accepts and forwards connections again.
    public func restore() { state.withLock { $0.cut = false } }

    /// Stops listening and breaks every connection.
    public func stop() {
        let open = state.withLock { s -> Set<Int32> in
            s.stopped = true
            return s.sockets
        }
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
        shutdown(listener, Int32(SHUT_RDWR))
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                close(listener)
                return
            }
            let (refuse, stopped) = state.withLock { ($0.cut, $0.stopped) }
            if stopped { close(client); close(listener); return }
            if refuse { close(client); continue }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: targetPort)
            let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard upstream >= 0, connected == 0 else {
                close(client)
                if upstream >= 0 { close(upstream) }
                continue
            }
            state.withLock { $0.sockets.formUnion([client, upstream]) }
            for (from, to) in [(client, upstream), (upstream, client)] {
                let pump = Thread { [self] in self.pump(from: from, to: to) }
                pump.name = "tcp-proxy-pump"
                pump.start()
            }
        }
    }

    /// Copies bytes one way until either side closes, then closes both.
    private func pump(from: Int32, to: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(from, &buffer, buffer.count)
            if n <= 0 { break }
            var sent = 0
            while sent < n {
                // send with MSG_NOSIGNAL: a peer that went away is an error here, not a SIGPIPE
                // that kills the whole test process.
                let m = buffer[sent..<n].withUnsafeBytes { send(to, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if m <= 0 { break }
                sent += m
            }
            if sent < n { break }
        }
        shutdown(from, Int32(SHUT_RDWR))
        shutdown(to, Int32(SHUT_RDWR))
        let last = state.withLock { s -> Bool in
            // The second pump of a pair closes the descriptors.
            if s.sockets.contains(from) { s.sockets.remove(from); s.sockets.remove(to); return false }
            return true
        }
        if last {
            close(from)
            close(to)
        }
    }
}
