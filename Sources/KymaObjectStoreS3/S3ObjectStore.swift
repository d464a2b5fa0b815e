// KymaObjectStoreS3: `ObjectStore` on any S3 endpoint (AWS, MinIO, moto), over libcurl with
// AWS Signature V4. Conditional creates use `If-None-Match: *`. One attempt per call: transient
// failures come back as transient error kinds for `RetryingObjectStore` (in front of this store)
// to retry; connect, stall and request timeouts bound every wait.

import KymaHTTP
import KymaCore
import KymaObjectStore

/// An `ObjectStore` in an S3 bucket, under an optional key prefix.
public struct S3ObjectStore: ObjectStore {
    public let configuration: S3Configuration

    public init(_ configuration: S3Configuration) {
        self.configuration = configuration
    }

    public var description: String {
        configuration.prefix.isEmpty ? "s3://\(configuration.bucket)" : "s3://\(configuration.bucket)/\(configuration.prefix)"
    }

    // MARK: - ObjectStore

    public func put(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) {
        let response = try await send("PUT", key: key, headers: ["Content-Type": "application/octet-stream"], body: bytes)
        try expectSuccess(response, key: key)
    }

    public func putIfAbsent(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) {
        let response = try await sendOnce(
            "PUT", objectPath: objectPath(key), query: [],
            headers: ["Content-Type": "application/octet-stream", "If-None-Match": "*"], body: bytes, key: key)
        if response.status == 412 { throw ObjectStoreError(.alreadyExists, key: key.rawValue, "object already exists") }
        if response.status == 409 {
            // S3 answers 409 ConditionalRequestConflict while a racing conditional write is in flight.
            throw ObjectStoreError(.service, key: key.rawValue, "conditional request conflict, retrying")
        }
        try expectSuccess(response, key: key)
    }

    public func get(_ key: ObjectKey) async throws(ObjectStoreError) -> [UInt8] {
        let response = try await send("GET", key: key)
        try expectSuccess(response, key: key)
        return response.body
    }

    public func get(_ key: ObjectKey, range: ByteRange) async throws(ObjectStoreError) -> [UInt8] {
        try range.validate(key: key)
        let response = try await send("GET", key: key, headers: ["Range": range.httpHeaderValue])
        try expectSuccess(response, key: key)
        if response.status == 200 {
            // The server ignored the range and sent the whole object: cut it here.
            let span = try range.resolve(size: response.body.count, key: key)
            return Array(response.body[span])
        }
        return response.body
    }

    public func head(_ key: ObjectKey) async throws(ObjectStoreError) -> ObjectMetadata {
        let response = try await send("HEAD", key: key)
        try expectSuccess(response, key: key)
        let modified = response.headers["last-modified"].flatMap(HTTPDate.parseMillis)
        if let length = response.headers["content-length"].flatMap({ Int($0) }) {
            return ObjectMetadata(key: key, size: length, lastModifiedMillis: modified, etag: response.headers["etag"])
        }
        // Some S3 implementations (moto for empty objects) omit Content-Length on HEAD: the
        // listing entry of the exact key carries the size.
        let listing = try await list(prefix: key.rawValue, pageToken: nil, maxKeys: 1)
        guard let entry = listing.objects.first, entry.key == key else {
            throw ObjectStoreError(.io, key: key.rawValue, "HEAD response has no Content-Length and the key is not listed")
        }
        return entry
    }

    public func delete(_ key: ObjectKey) async throws(ObjectStoreError) {
        let response = try await send("DELETE", key: key)
        if response.status == 404 { return }
        try expectSuccess(response, key: key)
    }

    public func list(prefix: String, pageToken: String?, maxKeys: Int) async throws(ObjectStoreError) -> ObjectListing {
        let fullPrefix = configuration.prefix.isEmpty ? prefix : configuration.prefix + "/" + prefix
        var query: [(String, String)] = [("list-type", "2"), ("max-keys", String(max(1, min(maxKeys, 1000)))), ("prefix", fullPrefix)]
        if let pageToken { query.append(("continuation-token", pageToken)) }
        let bucketPath = configuration.pathStyle ? "/" + configuration.bucket : "/"
        let response = try await sendOnce("GET", objectPath: bucketPath, query: query, headers: [:], body: nil, key: nil)
        try expectSuccess(response, key: nil)
        let xml = Substring(String(decoding: response.body, as: UTF8.self))
        var objects: [ObjectMetadata] = []
        let strip = configuration.prefix.isEmpty ? 0 : configuration.prefix.utf8.count + 1
        for entry in S3XML.elements("Contents", in: xml) {
            guard let fullKey = S3XML.firstText("Key", in: entry), fullKey.utf8.count > strip,
                  let key = try? ObjectKey(String(decoding: Array(fullKey.utf8)[strip...], as: UTF8.self)) else { continue }
            let size = S3XML.firstText("Size", in: entry).flatMap { Int($0) } ?? 0
            let modified = S3XML.firstText("LastModified", in: entry).flatMap(S3XML.parseTimestampMillis)
            let etag = S3XML.firstText("ETag", in: entry)
            objects.append(ObjectMetadata(key: key, size: size, lastModifiedMillis: modified, etag: etag))
        }
        let truncated = S3XML.firstText("IsTruncated", in: xml) == "true"
        let next = truncated ? S3XML.firstText("NextContinuationToken", in: xml) : nil
        return ObjectListing(objects: objects, nextPageToken: next)
    }

    /// Creates the bucket; succeeds when it already exists and is ours. For tests and dev setup.
    public func createBucketIfMissing() async throws(ObjectStoreError) {
        let path = configuration.pathStyle ? "/" + configuration.bucket : "/"
        var body: [UInt8] = []
        if configuration.region != "us-east-1" {
            body = Array("<CreateBucketConfiguration><LocationConstraint>\(configuration.region)</LocationConstraint></CreateBucketConfiguration>".utf8)
        }
        let response = try await RetryPolicy().run { _ throws(ObjectStoreError) in
            try await sendOnce("PUT", objectPath: path, query: [], headers: ["Content-Type": "application/xml"], body: body, key: nil)
        }
        if response.status == 409, errorCode(response) == "BucketAlreadyOwnedByYou" { return }
        try expectSuccess(response, key: nil)
    }

    // MARK: - Requests

    /// The request path of an object: `/bucket/prefix/key` (path style) or `/prefix/key`.
    func objectPath(_ key: ObjectKey) -> String {
        var path = configuration.pathStyle ? "/" + URIEncoding.encode(configuration.bucket, keepSlash: false) : ""
        if !configuration.prefix.isEmpty { path += "/" + URIEncoding.encode(configuration.prefix, keepSlash: true) }
        return path + "/" + URIEncoding.encode(key.rawValue, keepSlash: true)
    }

    func url(path: String, query: [(String, String)]) -> String {
        var base = configuration.endpoint
        if !configuration.pathStyle, let schemeEnd = base.firstRange(of: "://") {
            base = String(base[..<schemeEnd.upperBound]) + configuration.bucket + "." + String(base[schemeEnd.upperBound...])
        }
        // SigV4 signs the query as sent: it must already be sorted and percent-encoded.
        let encoded: [(name: String, value: String)] = query.map { pair in
            (URIEncoding.encode(pair.0, keepSlash: false), URIEncoding.encode(pair.1, keepSlash: false))
        }
        let sorted = encoded.sorted { lhs, rhs in lhs.name == rhs.name ? lhs.value < rhs.value : lhs.name < rhs.name }
        let canonicalQuery = sorted.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
        return base + path + (canonicalQuery.isEmpty ? "" : "?" + canonicalQuery)
    }

    private func send(
        _ method: String, key: ObjectKey, headers: [String: String] = [:], body: [UInt8]? = nil
    ) async throws(ObjectStoreError) -> HTTPResponse {
        try await sendOnce(method, objectPath: objectPath(key), query: [], headers: headers, body: body, key: key)
    }

    /// One attempt. Transient HTTP answers (5xx, 429) come back as thrown transient errors so
    /// the retry policy sees them; every other answer is returned for the caller to judge.
    private func sendOnce(
        _ method: String, objectPath: String, query: [(String, String)], headers: [String: String],
        body: [UInt8]?, key: ObjectKey?
    ) async throws(ObjectStoreError) -> HTTPResponse {
        var allHeaders = headers
        let configuration = self.configuration
        let requestURL = url(path: objectPath, query: query)
        let keyText = key?.rawValue
        var sigV4Scope: String? = nil
        var userPassword: String? = nil
        if let credentials = configuration.credentials {
            sigV4Scope = "aws:amz:\(configuration.region):s3"
            userPassword = "\(credentials.accessKeyID):\(credentials.secretAccessKey)"
            allHeaders["x-amz-content-sha256"] = SHA256.hexDigest(body ?? [])
            if let token = credentials.sessionToken { allHeaders["x-amz-security-token"] = token }
        }
        let finalHeaders = allHeaders
        let signing = sigV4Scope, user = userPassword
        let response: HTTPResponse
        do {
            response = try await BlockingIO.run {
                try HTTPClient.perform(
                    method: method, url: requestURL, headers: finalHeaders, body: body, sigV4Scope: signing,
                    userPassword: user, connectTimeoutMillis: configuration.connectTimeoutMillis,
                    timeoutMillis: configuration.requestTimeoutMillis, stallTimeoutMillis: configuration.stallTimeoutMillis)
            }
        } catch let error as TransportError {
            throw Self.classify(error, key: keyText, method: method)
        } catch {
            throw ObjectStoreError(.io, key: keyText, "\(error)")
        }
        if response.status >= 500 || response.status == 429 || errorCode(response) == "SlowDown" {
            throw ObjectStoreError(.service, key: keyText, "\(method) answered HTTP \(response.status)\(errorSuffix(response))")
        }
        return response
    }

    static func classify(_ error: TransportError, key: String?, method: String) -> ObjectStoreError {
        switch error.kind {
        case .timeout:
            return ObjectStoreError(.timeout, key: key, "\(method) timed out: \(error.message)")
        case .unavailable:
            return ObjectStoreError(.unavailable, key: key, "\(method) failed: \(error.message)")
        case .other:
            return ObjectStoreError(.io, key: key, "\(method) failed: \(error.message)")
        }
    }

    private func errorCode(_ response: HTTPResponse) -> String? {
        guard !response.body.isEmpty else { return nil }
        return S3XML.firstText("Code", in: Substring(String(decoding: response.body, as: UTF8.self)))
    }

    private func errorSuffix(_ response: HTTPResponse) -> String {
        guard let code = errorCode(response) else { return "" }
        return " (\(code))"
    }

    private func expectSuccess(_ response: HTTPResponse, key: ObjectKey?) throws(ObjectStoreError) {
        let keyText = key?.rawValue
        switch response.status {
        case 200...299: return
        case 404: throw ObjectStoreError(.notFound, key: keyText, "not found\(errorSuffix(response))")
        case 401, 403: throw ObjectStoreError(.unauthorized, key: keyText, "access denied (HTTP \(response.status))\(errorSuffix(response))")
        case 412: throw ObjectStoreError(.alreadyExists, key: keyText, "precondition failed\(errorSuffix(response))")
        case 416: throw ObjectStoreError(.invalidRange, key: keyText, "range not satisfiable\(errorSuffix(response))")
        default: throw ObjectStoreError(.io, key: keyText, "unexpected HTTP \(response.status)\(errorSuffix(response))")
        }
    }
}

/// Percent-encoding as SigV4 canonicalises it: unreserved characters stay, `/` stays in paths.
enum URIEncoding {
    static func encode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0xF)]))
            }
        }
        return out
    }
}

/// RFC 7231 IMF-fixdate (`Sat, 21 Nov 2026 19:00:00 GMT`), the format of `Last-Modified`.
enum HTTPDate {
    static func parseMillis(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count >= 5 else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let monthIndex = months.firstIndex(of: String(parts[2])), let day = Int(parts[1]), let year = Int(parts[3]) else { return nil }
        let iso = String(format4(year)) + "-" + two(monthIndex + 1) + "-" + two(day) + "T" + parts[4] + ".000Z"
        return S3XML.parseTimestampMillis(iso)
    }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    private static func format4(_ value: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, 4 - text.count)) + text
    }
}
