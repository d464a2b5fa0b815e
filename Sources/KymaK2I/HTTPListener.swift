// A small HTTP/1.1 listener on a plain socket, for k2i's health, metrics and status endpoints
// (the HTTP server framework belongs to KymaServer only). One thread accepts; each request is
// answered and the connection closed.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

public struct HTTPReply: Sendable {
    public var status: Int
    public var contentType: String
    public var body: String

    public init(_ status: Int, _ body: String, contentType: String = "text/plain; charset=utf-8") {
        self.status = status
        self.body = body
        self.contentType = contentType
    }
}

public final class HTTPListener: @unchecked Sendable {
    // @unchecked: the socket is owned by the accept thread after `start`.
    public let port: Int
    private let fd: Int32
    private let handler: @Sendable (String, String, [String: String]) -> HTTPReply

    /// Binds `address:port` (port 0: any free port, see `port`).
    public init(address: String, port: Int, handler: @escaping @Sendable (_ method: String, _ path: String, _ query: [String: String]) -> HTTPReply) throws(K2IError) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .health("socket(): \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, address, &addr.sin_addr) == 1 else { close(fd); throw .health("bad bind address '\(address)'") }
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .health("cannot listen on \(address):\(port): \(reason)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        self.fd = fd
        self.handler = handler
    }

    public func start() {
        let thread = Thread { [self] in self.acceptLoop() }
        thread.name = "k2i-http"
        thread.start()
    }

    private func acceptLoop() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            serve(client)
            close(client)
        }
    }

    private func serve(_ client: Int32) {
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while request.count < 65536 {
            let n = read(client, &chunk, chunk.count)
            if n <= 0 { break }
            request.append(contentsOf: chunk[0..<n])
            if request.count >= 4, request.suffix(4) == [13, 10, 13, 10] { break }
            if request.firstRange(of: [13, 10, 13, 10]) != nil { break }
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        let reply: HTTPReply
        if parts.count >= 2 {
            let target = String(parts[1])
            let path = String(target.split(separator: "?", maxSplits: 1).first ?? "")
            var query: [String: String] = [:]
            if let q = target.split(separator: "?", maxSplits: 1).dropFirst().first {
                for pair in q.split(separator: "&") {
                    let kv = pair.split(separator: "=", maxSplits: 1)
                    query[String(kv[0]).removingPercentEncoding ?? String(kv[0])] = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
                }
            }
            reply = handler(String(parts[0]), path, query)
        } else {
            reply = HTTPReply(400, "bad request\n")
        }
        let body = Array(reply.body.utf8)
        let reason = [200: "OK", 404: "Not Found", 400: "Bad Request", 503: "Service Unavailable"][reply.status] ?? "Status"
        let head = "HTTP/1.1 \(reply.status) \(reason)\r\nContent-Type: \(reply.contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let bytes = Array(head.utf8) + body
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            sent += n
        }
    }
}

/// A minimal HTTP/1.1 GET over a plain socket (for `k2i status`; no TLS).
public enum HTTPGet {
    public static func fetch(_ url: String, timeoutSeconds: Int = 5) throws(K2IError) -> (status: Int, body: String) {
        guard url.hasPrefix("http://") else { throw .health("only http:// URLs: \(url)") }
        let rest = url.dropFirst("http://".count)
        let hostPort = String(rest.prefix { $0 != "/" })
        let path = rest.dropFirst(hostPort.count).isEmpty ? "/" : String(rest.dropFirst(hostPort.count))
        let host = hostPort.split(separator: ":").first.map(String.init) ?? "127.0.0.1"
        let port = hostPort.split(separator: ":").dropFirst().first.flatMap { Int($0) } ?? 80
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .health("socket(): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        let resolved = host == "localhost" ? "127.0.0.1" : host
        guard inet_pton(AF_INET, resolved, &addr.sin_addr) == 1 else { throw .health("\(host) is not an IPv4 address") }
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { throw .health("cannot connect to \(hostPort): \(String(cString: strerror(errno)))") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(hostPort)\r\nConnection: close\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            response.append(contentsOf: chunk[0..<n])
        }
        guard let split = response.firstRange(of: [13, 10, 13, 10]) else { throw .health("\(url) sent no HTTP response") }
        let head = String(decoding: response[..<split.lowerBound], as: UTF8.self)
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return (status, String(decoding: response[split.upperBound...], as: UTF8.self))
    }
}
