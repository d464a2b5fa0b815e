// KymaHTTP: HTTP requests over libcurl (the only importer of CCurl), optionally signed with
// libcurl's AWS SigV4 support. Used by the S3 object store and the REST and Glue Iceberg
// catalogs.

import CCurl

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: [UInt8]
}

/// Failures below HTTP: no status code was received.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The request ran past its time limit.
        case timeout
        /// The peer could not be reached or the connection broke (worth a retry).
        case unavailable
        case other
    }
    public var kind: Kind
    public var message: String

    init(code: CURLcode, message: String) {
        switch code {
        case CURLE_OPERATION_TIMEDOUT: kind = .timeout
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE:
            kind = .unavailable
        default: kind = .other
        }
        self.message = message
    }

    public var description: String { message }
}

/// Collects the body and headers a transfer delivers. Owned by one transfer, on one thread.
private final class TransferSink {
    var body: [UInt8] = []
    var headers: [String: String] = [:]
}

public enum HTTPClient {
    /// libcurl's global state must be set up once, before any thread uses it.
    private static let globalInit: Bool = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    }()

    /// Performs one request synchronously (call it through `BlockingIO`). `body` is sent for
    /// PUT and POST (an empty array sends an empty body). `sigV4Scope` (`aws:amz:REGION:SERVICE`)
    /// with `userPassword` (`KEY:SECRET`) signs the request. Throws `TransportError` when no
    /// HTTP response arrives. `stallTimeoutMillis` ends a transfer that moves no byte for that
    /// long (a read timeout; `timeoutMillis` caps the whole request).
    public static func perform(
        method: String, url: String, headers: [String: String], body: [UInt8]?,
        sigV4Scope: String?, userPassword: String?, connectTimeoutMillis: Int, timeoutMillis: Int,
        stallTimeoutMillis: Int? = nil
    ) throws(TransportError) -> HTTPResponse {
        _ = globalInit
        guard let handle = curl_easy_init() else { throw TransportError(code: CURLE_FAILED_INIT, message: "curl_easy_init failed") }
        defer { curl_easy_cleanup(handle) }

        let sink = TransferSink()
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        // curl adds "Expect: 100-continue" to larger uploads; S3 endpoints need not honour it.
        headerList = curl_slist_append(headerList, "Expect:")

        kyma_curl_setopt_string(handle, CURLOPT_URL, url)
        kyma_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        kyma_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, connectTimeoutMillis)
        kyma_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeoutMillis)
        if let stall = stallTimeoutMillis {
            // Below 1 byte/s for the whole window counts as stalled (curl measures in seconds).
            kyma_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1)
            kyma_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, max(1, (stall + 999) / 1000))
        }
        kyma_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)
        kyma_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, sinkPointer)
        kyma_curl_setopt_callback(handle, CURLOPT_WRITEFUNCTION) { data, size, count, userdata in
            let sink = Unmanaged<TransferSink>.fromOpaque(userdata!).takeUnretainedValue()
            let length = size * count
            if length > 0, let data {
                data.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
                    sink.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: length))
                }
            }
            return length
        }
        kyma_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, sinkPointer)
        kyma_curl_setopt_callback(handle, CURLOPT_HEADERFUNCTION) { data, size, count, userdata in
            let sink = Unmanaged<TransferSink>.fromOpaque(userdata!).takeUnretainedValue()
            let length = size * count
            if length > 0, let data {
                let line = data.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
                    String(decoding: UnsafeBufferPointer(start: bytes, count: length), as: UTF8.self)
                }
                if line.hasPrefix("HTTP/") { sink.headers.removeAll() }  // a new response (after 100 Continue)
                if let colon = line.firstIndex(of: ":") {
                    let name = line[..<colon].lowercased()
                    let value = line[line.index(after: colon)...].trimmingCharacters()
                    sink.headers[name] = value
                }
            }
            return length
        }
        if let sigV4Scope {
            kyma_curl_setopt_string(handle, CURLOPT_AWS_SIGV4, sigV4Scope)
        }
        if let userPassword {
            kyma_curl_setopt_string(handle, CURLOPT_USERPWD, userPassword)
        }

        let code: CURLcode
        switch method {
        case "HEAD":
            kyma_curl_setopt_long(handle, CURLOPT_NOBODY, 1)
            code = curl_easy_perform(handle)
        case "PUT", "POST":
            kyma_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method)
            // POSTFIELDS is what libcurl's SigV4 hashes as the payload; it needs a non-null
            // pointer even for an empty body.
            var payload = body ?? []
            if payload.isEmpty { payload = [0] }
            let length = body?.count ?? 0
            code = payload.withUnsafeMutableBytes { raw in
                kyma_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(length))
                kyma_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, raw.baseAddress)
                return curl_easy_perform(handle)
            }
        case "GET":
            code = curl_easy_perform(handle)
        default:
            kyma_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method)
            code = curl_easy_perform(handle)
        }
        guard code == CURLE_OK else {
            throw TransportError(code: code, message: String(cString: curl_easy_strerror(code)))
        }
        var status = 0
        kyma_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: sink.headers, body: sink.body)
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs, CRs and LFs. By bytes: "\r\n" is one
    /// Character, so a Character-wise trim kept the CRLF that ends every header line.
    func trimmingCharacters() -> String {
        var bytes = Substring(self).utf8[...]
        let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }
        while let first = bytes.first, blank(first) { bytes = bytes.dropFirst() }
        while let last = bytes.last, blank(last) { bytes = bytes.dropLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
