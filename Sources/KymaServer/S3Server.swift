// The S3 byte plane of the augmented-S3 surface (docs/k3.md): path-style S3 on a port of its own
// (`[server] s3_bind`, `kyma serve --s3-bind`). Buckets and objects live in Kyma's object store
// under `buckets/<id>/`; the catalog holds the index of objects, multipart uploads and the events
// rules react to. Every request is signed with SigV4 (header, presigned URL, or aws-chunked
// chunks) by an access key of an API key (`kyma keys create --s3`), whose role and table scope
// apply: read lists and gets, write puts and deletes, a scope names the buckets a key may use.
//
//   request -> S3Request (path -> bucket, key; query; headers) -> SigV4 verified -> body read
//   (payload hash, aws-chunked, checksums) -> operation -> XML or bytes

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import KymaCatalog
import KymaCore
import KymaKernels
import KymaObjectStore
import KymaS3
import Logging
import NIOCore
import ServiceLifecycle

/// One S3 request, parsed: who, what, and the body once read.
struct S3Request {
    let method: String
    /// The path as sent, percent-decoded.
    let path: String
    let bucket: String?
    let key: String?
    let query: [(String, String)]
    /// Lowercased names.
    let headers: [String: String]
    var principal = Principal.unrestricted
    var body: [UInt8] = []
    /// Trailing headers of an aws-chunked body (lowercased names).
    var trailers: [String: String] = [:]
    /// The signature chain of a signed aws-chunked body.
    var chain: AWSChunked.Chain?

    func parameter(_ name: String) -> String? { query.first { $0.0 == name }?.1 }
    func has(_ name: String) -> Bool { query.contains { $0.0 == name } }

    var resource: String { "/" + [bucket, key].compactMap { $0 }.joined(separator: "/") }
}

struct S3Server {
    let state: ServerState
    /// Clock skew a signed request may have (S3's 15 minutes).
    static let allowedSkewSeconds: Int64 = 900

    // MARK: - The application

    static func application(state: ServerState, host: String, port: Int, announce: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        let router = Router()
        let server = S3Server(state: state)
        for method in [HTTPRequest.Method.get, .put, .post, .delete, .head] {
            router.on("/", method: method) { request, _ in await server.respond(request) }
            router.on("**", method: method) { request, _ in await server.respond(request) }
        }
        var logger = Logger(label: "kyma-s3")
        logger.logLevel = .notice
        return Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()],
                                                idleTimeout: .nanoseconds(Int64(state.settings.idleTimeoutSeconds * 1e9)))),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "kyma-s3", reuseAddress: true),
            onServerRunning: { channel in announce(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    func respond(_ request: Request) async -> Response {
        let requestID = String(UInt64.random(in: 0...UInt64.max), radix: 16, uppercase: true)
        var parsed = S3Request(method: request.method.rawValue, path: "/", bucket: nil, key: nil, query: [], headers: [:])
        do {
            parsed = try Self.parse(request)
            // Without x-amz-content-sha256 (libcurl's --aws-sigv4 sends none) the signature
            // covers the body's hash, so the body is read first; otherwise the signature is
            // checked before a byte of the body is.
            if parsed.headers["x-amz-content-sha256"] == nil, parsed.headers["authorization"] != nil {
                try await readBody(request, into: &parsed)
                try await authenticate(&parsed)
            } else {
                try await authenticate(&parsed)
                try await readBody(request, into: &parsed)
            }
            var response = try await dispatch(parsed)
            response.headers[HTTPField.Name("x-amz-request-id")!] = requestID
            return response
        } catch let error as S3Error {
            return Self.errorResponse(error, requestID: requestID, head: parsed.method == "HEAD", resource: parsed.resource)
        } catch let error as CatalogError {
            return Self.errorResponse(Self.s3Error(error, parsed), requestID: requestID, head: parsed.method == "HEAD", resource: parsed.resource)
        } catch let error as ObjectStoreError {
            let code: S3Error.Code = error.isTransient ? .serviceUnavailable : .internalError
            return Self.errorResponse(S3Error(code, "the object store failed: \(error)"), requestID: requestID, head: parsed.method == "HEAD", resource: parsed.resource)
        } catch {
            return Self.errorResponse(S3Error(.internalError, "\(error)"), requestID: requestID, head: parsed.method == "HEAD", resource: parsed.resource)
        }
    }

    static func s3Error(_ error: CatalogError, _ request: S3Request) -> S3Error {
        switch error {
        case .tableNotFound: S3Error(.noSuchBucket, "the specified bucket does not exist", resource: request.bucket ?? "")
        case .cannotConnect, .connectionLost, .timeout, .query: S3Error(.serviceUnavailable, "the catalog is unavailable: \(error)")
        case .invalidArgument, .constraint: S3Error(.invalidArgument, error.description)
        default: S3Error(.internalError, error.description)
        }
    }

    static func errorResponse(_ error: S3Error, requestID: String, head: Bool, resource: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/xml"
        headers[HTTPField.Name("x-amz-request-id")!] = requestID
        var failure = error
        if failure.resource.isEmpty { failure.resource = resource }
        let body = head ? ResponseBody() : ResponseBody(byteBuffer: ByteBuffer(string: failure.xml(requestID: requestID)))
        return Response(status: HTTPResponse.Status(code: error.code.status), headers: headers, body: body)
    }

    /// The path's bucket and key (path-style: /bucket/key...), each percent-decoded.
    static func parse(_ request: Request) throws(S3Error) -> S3Request {
        let raw = request.uri.path
        guard let path = raw.removingPercentEncoding else { throw S3Error(.invalidRequest, "the path is not valid percent-encoded UTF-8") }
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
        // HTTP/1's Host header becomes the authority pseudo-header in HTTPTypes; SigV4 signs it.
        if headers["host"] == nil, let authority = request.head.authority { headers["host"] = authority }
        var query: [(String, String)] = []
        if let text = request.uri.query {
            for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(kv[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(kv[0])
                let value = kv.count > 1 ? (String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(kv[1])) : ""
                query.append((name, value))
            }
        }
        let trimmed = path.hasPrefix("/") ? String(path.dropFirst()) : path
        var bucket: String? = nil, key: String? = nil
        if !trimmed.isEmpty {
            if let slash = trimmed.firstIndex(of: "/") {
                bucket = String(trimmed[..<slash])
                let rest = String(trimmed[trimmed.index(after: slash)...])
                key = rest.isEmpty ? nil : rest
            } else {
                bucket = trimmed
            }
        }
        return S3Request(method: request.method.rawValue, path: path, bucket: bucket, key: key, query: query, headers: headers)
    }

    // MARK: - Authentication

    func authenticate(_ request: inout S3Request) async throws {
        guard state.settings.authRequired else { return }
        // Signature Version 2 (`Authorization: AWS key:signature`, or `AWSAccessKeyId` in a
        // URL, which awscli v1 and boto3 still presign with by default) is named, not taken for
        // an anonymous request.
        if request.headers["authorization"]?.hasPrefix("AWS ") == true || request.parameter("AWSAccessKeyId") != nil {
            throw S3Error(.accessDenied, "Signature Version 2 is not accepted; sign with SigV4 (awscli: aws configure set default.s3.signature_version s3v4; "
                + "boto3: Config(signature_version='s3v4'))")
        }
        guard let claim = try SigV4.claim(authorization: request.headers["authorization"], amzDate: request.headers["x-amz-date"], query: request.query) else {
            throw S3Error(.accessDenied, "anonymous access is not allowed: sign requests with an access key (kyma keys create --s3)")
        }
        guard let (record, secret) = try await state.services.catalog.s3Credentials(accessKey: claim.accessKey), !record.revoked else {
            throw S3Error(.invalidAccessKeyId, "the access key id you provided does not exist in our records")
        }
        guard let signedAt = SigV4.seconds(claim.timestamp) else { throw S3Error(.accessDenied, "X-Amz-Date is not yyyymmddThhmmssZ") }
        let now = state.now() / 1_000_000_000
        if let expires = claim.expires {
            guard now <= signedAt + Int64(expires) else { throw S3Error(.accessDenied, "request has expired") }
            guard signedAt <= now + Self.allowedSkewSeconds else { throw S3Error(.accessDenied, "the presigned URL is dated in the future") }
        } else {
            guard abs(now - signedAt) <= Self.allowedSkewSeconds else {
                throw S3Error(.requestTimeTooSkewed, "the difference between the request time and the current time is too large")
            }
        }
        let payloadHash = claim.expires != nil ? "UNSIGNED-PAYLOAD" : (request.headers["x-amz-content-sha256"] ?? DigestKernels.sha256Hex(request.body))
        var headers = request.headers
        if headers["host"] == nil { headers["host"] = "" }
        let canonical = SigV4.canonicalRequest(method: request.method, path: request.path, query: request.query, headers: headers,
                                               signedHeaders: claim.signedHeaders, payloadHash: payloadHash)
        let key = SigV4.signingKey(secret: secret, claim: claim)
        let expected = SigV4.sign(SigV4.stringToSign(claim: claim, canonicalRequest: canonical), key: key)
        guard SigV4.same(expected, claim.signature) else {
            throw S3Error(.signatureDoesNotMatch, "the request signature we calculated does not match the signature you provided")
        }
        request.principal = Principal(keyID: record.id, role: record.role, tables: record.tables)
        // A signed aws-chunked body chains its chunks' signatures from this one.
        if payloadHash.hasPrefix("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
            request.chain = AWSChunked.Chain(claim: claim, key: key, seed: claim.signature)
        }
    }

    // MARK: - Bodies

    func readBody(_ request: Request, into parsed: inout S3Request) async throws {
        guard ["PUT", "POST"].contains(parsed.method) else { return }
        let limit = state.settings.maxObjectBytes
        var raw: [UInt8]
        do {
            raw = try await RequestBodies.collect(request.body, limit: limit + (limit >> 4), stallSeconds: state.settings.bodyStallSeconds)
        } catch {
            switch error.kind {
            case .payloadTooLarge: throw S3Error(.entityTooLarge, "your proposed upload exceeds the maximum allowed object size of \(limit) bytes")
            case .timeout: throw S3Error(.requestTimeout, "your socket connection to the server was not read from or written to within the timeout period")
            default: throw error
            }
        }
        let hash = parsed.headers["x-amz-content-sha256"] ?? "UNSIGNED-PAYLOAD"
        let chunked = hash.hasPrefix("STREAMING-") || (parsed.headers["content-encoding"] ?? "").contains("aws-chunked")
        if chunked {
            let decoded = try AWSChunked.decode(raw, chain: parsed.chain, decodedLength: parsed.headers["x-amz-decoded-content-length"].flatMap { Int($0) })
            raw = decoded.payload
            parsed.trailers = decoded.trailers
        } else {
            parsed.trailers = [:]
            if hash != "UNSIGNED-PAYLOAD", state.settings.authRequired {
                guard hash.count == 64, DigestKernels.sha256Hex(raw) == hash.lowercased() else {
                    throw S3Error(.xAmzContentSHA256Mismatch, "the provided 'x-amz-content-sha256' header does not match what was computed")
                }
            }
        }
        guard raw.count <= limit else { throw S3Error(.entityTooLarge, "your proposed upload exceeds the maximum allowed object size of \(limit) bytes") }
        parsed.body = raw
    }

    // MARK: - Access

    /// The caller may use `bucket` with `role`.
    static func require(_ request: S3Request, _ role: APIKeyRole, bucket: String? = nil) throws(S3Error) {
        let principal = request.principal
        guard principal.role >= role else { throw S3Error(.accessDenied, "access denied: key '\(principal.keyID)' has role \(principal.role.rawValue)") }
        if let bucket, let scope = principal.tables, !scope.contains(bucket) {
            throw S3Error(.accessDenied, "access denied: key '\(principal.keyID)' may not use bucket '\(bucket)'")
        }
    }

    // MARK: - Dispatch

    /// Subresources of the S3 API this server does not keep (ACLs, policies, lifecycle, ...):
    /// a request for one is NotImplemented, never mistaken for a listing or a get.
    static let unsupportedSubresources: Set = [
        "accelerate", "acl", "analytics", "attributes", "cors", "encryption", "intelligent-tiering", "inventory", "legal-hold", "lifecycle",
        "logging", "metrics", "notification", "object-lock", "ownershipControls", "policy", "policyStatus", "publicAccessBlock",
        "replication", "requestPayment", "restore", "retention", "select", "tagging", "torrent", "website",
    ]

    func dispatch(_ request: S3Request) async throws -> Response {
        if let name = request.query.first(where: { Self.unsupportedSubresources.contains($0.0) })?.0 {
            throw S3Error(.notImplemented, "the '\(name)' subresource is not implemented by this server")
        }
        // Buckets are unversioned: every object's one version is "null", as S3 names it.
        if let version = request.parameter("versionId"), version != "null" {
            throw S3Error(.invalidArgument, "invalid version id specified: buckets here are not versioned")
        }
        guard let bucket = request.bucket else {
            guard request.method == "GET" else { throw S3Error(.methodNotAllowed, "the specified method is not allowed against this resource") }
            return try await listBuckets(request)
        }
        guard let key = request.key else {
            // CreateBucket and DeleteBucket take no query: a PUT or DELETE with one configures
            // a subresource (versioning, policy, ...) this server does not keep.
            if ["PUT", "DELETE"].contains(request.method), let name = request.query.first?.0 {
                throw S3Error(.notImplemented, "the '\(name)' bucket subresource is not implemented by this server")
            }
            switch request.method {
            case "PUT": return try await createBucket(request, bucket)
            case "DELETE": return try await deleteBucket(request, bucket)
            case "HEAD": return try await headBucket(request, bucket)
            case "POST":
                guard request.has("delete") else { throw S3Error(.notImplemented, "this bucket POST is not implemented") }
                return try await deleteObjects(request, bucket)
            case "GET":
                if request.has("location") { return try await bucketLocation(request, bucket) }
                if request.has("uploads") { return try await listUploads(request, bucket) }
                if request.has("versioning") { return try await bucketVersioning(request, bucket) }
                return try await listObjects(request, bucket)
            default: throw S3Error(.methodNotAllowed, "the specified method is not allowed against this resource")
            }
        }
        switch request.method {
        case "PUT":
            if let upload = request.parameter("uploadId") { return try await uploadPart(request, bucket, key, upload) }
            if request.headers["x-amz-copy-source"] != nil { return try await copyObject(request, bucket, key) }
            return try await putObject(request, bucket, key)
        case "GET":
            if let upload = request.parameter("uploadId") { return try await listParts(request, bucket, key, upload) }
            return try await getObject(request, bucket, key, head: false)
        case "HEAD": return try await getObject(request, bucket, key, head: true)
        case "DELETE":
            if let upload = request.parameter("uploadId") { return try await abortUpload(request, bucket, key, upload) }
            return try await deleteObject(request, bucket, key)
        case "POST":
            if request.has("uploads") { return try await createUpload(request, bucket, key) }
            if let upload = request.parameter("uploadId") { return try await completeUpload(request, bucket, key, upload) }
            throw S3Error(.notImplemented, "this object POST is not implemented")
        default: throw S3Error(.methodNotAllowed, "the specified method is not allowed against this resource")
        }
    }

    // MARK: - Responses

    static func xml(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/xml"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func empty(_ status: HTTPResponse.Status, headers: HTTPFields = HTTPFields()) -> Response {
        Response(status: status, headers: headers, body: ResponseBody())
    }

    /// `2026-12-07T10:00:00.000Z`, as S3 lists times.
    static func isoTime(_ millis: Int64) -> String {
        TimeText.rfc3339(millis * 1_000_000, fractionDigits: 3)
    }

    /// `Mon, 07 Dec 2026 10:00:00 GMT` (Last-Modified).
    static func httpDate(_ millis: Int64) -> String {
        let seconds = millis / 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds + 1) / 86_400 - 1
        let (year, month, day) = CivilDate.date(days: days)
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(((days % 7) + 7) % 7)]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let s = seconds - days * 86_400
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(weekday), \(two(day)) \(months[Int(month) - 1]) \(year) \(two(s / 3600)):\(two(s / 60 % 60)):\(two(s % 60)) GMT"
    }

    /// Seconds since the epoch of an HTTP date (If-Modified-Since and friends); nil when not one.
    static func parseHTTPDate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int64(parts[1]), let year = Int64(parts[3]) else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let month = months.firstIndex(of: String(parts[2])) else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int64($0) }
        guard clock.count == 3 else { return nil }
        return CivilDate.days(year: year, month: Int64(month + 1), day: day) * 86_400 + clock[0] * 3600 + clock[1] * 60 + clock[2]
    }
}

extension HTTPField.Name {
    var canonicalName: String { rawName }
}
