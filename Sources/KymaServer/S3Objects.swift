// The object operations of the S3 byte plane: PutObject (conditional with If-None-Match: * or
// If-Match), CopyObject, GetObject and HeadObject (ranges, conditional headers, response-*
// overrides), DeleteObject. The bytes of a put go to the store under a fresh key first; the
// catalog then points the object's key at them in one transaction (with the event rules read),
// so an acknowledged put is durable and a reader sees the old object or the new, never a mix.

import Foundation
import HTTPTypes
import Hummingbird
import KymaBuckets
import KymaCatalog
import KymaCore
import KymaKernels
import KymaObjectStore
import KymaS3
import NIOCore

extension S3Server {
    /// Headers an object keeps and returns on every GET, besides Content-Type and x-amz-meta-*.
    static let storedHeaders = ["cache-control", "content-disposition", "content-encoding", "content-language", "expires"]
    /// S3 allows 2 KB of user metadata.
    static let maxMetadataBytes = 2048

    /// A fresh place in the store for an object's bytes (keys in a bucket are not store keys:
    /// any UTF-8 up to 1024 bytes is a valid S3 key).
    static func storageKey(bucket: String) throws -> ObjectKey {
        try ObjectKey("buckets/\(bucket)/objects/\(UUID().uuidString.lowercased())")
    }

    static func checkKey(_ key: String) throws(S3Error) {
        guard key.utf8.count <= 1024 else { throw S3Error(.keyTooLong, "your key is too long: \(key.utf8.count) bytes; the limit is 1024", resource: key) }
    }

    /// The user metadata and stored headers of a put or a multipart create.
    static func storedMetadata(_ request: S3Request) throws(S3Error) -> [String: String] {
        var metadata: [String: String] = [:]
        var userBytes = 0
        for (name, value) in request.headers {
            if name.hasPrefix("x-amz-meta-") {
                metadata[name] = value
                userBytes += name.utf8.count - "x-amz-meta-".count + value.utf8.count
            } else if storedHeaders.contains(name) {
                metadata[name] = value
            }
        }
        guard userBytes <= maxMetadataBytes else {
            throw S3Error(.metadataTooLarge, "your metadata headers exceed the maximum allowed metadata size of \(maxMetadataBytes) bytes")
        }
        return metadata
    }

    static func etag(_ bytes: [UInt8]) -> String { "\"\(Hex.encode(DigestKernels.md5(bytes)))\"" }

    static func unquoted(_ etag: String) -> String {
        var text = etag.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("W/") { text = String(text.dropFirst(2)) }
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = String(text.dropFirst().dropLast()) }
        return text
    }

    /// Whether an If-Match / If-None-Match list names `etag` (`*` names every object).
    static func matches(_ list: String, _ etag: String) -> Bool {
        list.split(separator: ",").contains { candidate in
            let tag = unquoted(String(candidate))
            return tag == "*" || tag == unquoted(etag)
        }
    }

    func putObject(_ request: S3Request, _ bucket: String, _ key: String) async throws -> Response {
        try Self.require(request, .write, bucket: bucket)
        try Self.checkKey(key)
        _ = try await existingBucket(bucket)
        // MinIO's "snowball" extension asks the server to unpack a tar into many objects;
        // storing the archive as one object would silently do something else.
        if request.headers["x-amz-meta-snowball-auto-extract"] != nil {
            throw S3Error(.notImplemented, "snowball auto-extract (a MinIO extension) is not implemented by this server")
        }
        var condition = PutCondition.always
        if let noneMatch = request.headers["if-none-match"] {
            condition = .ifNoneMatch(noneMatch.trimmingCharacters(in: .whitespaces))
        } else if let match = request.headers["if-match"] {
            condition = .ifMatch(match.trimmingCharacters(in: .whitespaces))
        }
        let checksum = try S3Checksum.verify(request.body, headers: request.headers, trailers: request.trailers)
        let object = BucketObject(key: key, size: Int64(request.body.count), etag: Self.etag(request.body),
                                  contentType: request.headers["content-type"], metadata: try Self.storedMetadata(request),
                                  storageKey: try Self.storageKey(bucket: bucket).rawValue, checksum: checksum.map { "\($0.0.rawValue):\($0.1)" })
        return try await commit(object, bytes: request.body, bucket: bucket, condition: condition, checksum: checksum)
    }

    /// Stores `bytes`, then indexes `object`; the response of a put.
    func commit(_ object: BucketObject, bytes: [UInt8], bucket: String, condition: PutCondition, checksum: (S3Checksum, String)?) async throws -> Response {
        let storage = try ObjectKey(object.storageKey)
        // The rules that take the object make their ingest jobs in the transaction that
        // indexes it: an indexed object is never without its jobs.
        let jobs = IngestJob.requests(for: object, bucket: bucket, rules: try await state.services.catalog.rules(bucket: bucket))
        try await state.services.store.put(storage, bytes)
        let replaced: String?
        do {
            replaced = try await state.services.catalog.putObject(bucket: bucket, object, condition: condition, enqueue: jobs)
        } catch {
            await discard(object.storageKey)
            if case .conflict = error {
                throw S3Error(.preconditionFailed, "at least one of the preconditions you specified did not hold", resource: object.key)
            }
            throw error
        }
        if let replaced { await discard(replaced) }
        var headers = HTTPFields()
        headers[.eTag] = object.etag
        if let (algorithm, value) = checksum { headers[HTTPField.Name(algorithm.header)!] = value }
        return Self.empty(.ok, headers: headers)
    }

    // MARK: - Copy

    /// `x-amz-copy-source: [/]bucket/key[?versionId=...]`, percent-encoded.
    static func copySource(_ request: S3Request) throws(S3Error) -> (bucket: String, key: String) {
        guard var text = request.headers["x-amz-copy-source"] else { throw S3Error(.invalidArgument, "x-amz-copy-source is missing") }
        if let question = text.firstIndex(of: "?") { text = String(text[..<question]) }
        guard let decoded = text.removingPercentEncoding else { throw S3Error(.invalidArgument, "x-amz-copy-source is not valid percent-encoding") }
        let trimmed = decoded.hasPrefix("/") ? decoded.dropFirst() : Substring(decoded)
        guard let slash = trimmed.firstIndex(of: "/"), slash != trimmed.startIndex, trimmed.index(after: slash) != trimmed.endIndex else {
            throw S3Error(.invalidArgument, "x-amz-copy-source must be bucket/key")
        }
        return (String(trimmed[..<slash]), String(trimmed[trimmed.index(after: slash)...]))
    }

    /// The source object of a copy, after its x-amz-copy-source-if-* conditions.
    func copySourceObject(_ request: S3Request) async throws -> BucketObject {
        let (bucket, key) = try Self.copySource(request)
        try Self.require(request, .read, bucket: bucket)
        _ = try await existingBucket(bucket)
        guard let source = try await state.services.catalog.object(bucket: bucket, key: key) else {
            throw S3Error(.noSuchKey, "the specified key does not exist", resource: "/\(bucket)/\(key)")
        }
        if let failure = Self.conditionFailure(source, headers: request.headers, prefix: "x-amz-copy-source-") {
            // Both of a copy's failed conditions are 412s.
            throw S3Error(.preconditionFailed, failure.message, resource: "/\(bucket)/\(key)")
        }
        return source
    }

    func copyObject(_ request: S3Request, _ bucket: String, _ key: String) async throws -> Response {
        try Self.require(request, .write, bucket: bucket)
        try Self.checkKey(key)
        _ = try await existingBucket(bucket)
        let source = try await copySourceObject(request)
        let (sourceBucket, sourceKey) = try Self.copySource(request)
        let replace = request.headers["x-amz-metadata-directive"]?.uppercased() == "REPLACE"
        if sourceBucket == bucket, sourceKey == key, !replace {
            throw S3Error(.invalidRequest, "this copy request is illegal because it is trying to copy an object to itself without changing the object's metadata")
        }
        let bytes = try await state.services.store.get(try ObjectKey(source.storageKey))
        let object = BucketObject(key: key, size: source.size, etag: Self.etag(bytes),
                                  contentType: replace ? request.headers["content-type"] : source.contentType,
                                  metadata: replace ? try Self.storedMetadata(request) : source.metadata,
                                  storageKey: try Self.storageKey(bucket: bucket).rawValue, checksum: source.checksum)
        _ = try await commit(object, bytes: bytes, bucket: bucket, condition: .always, checksum: nil)
        let stored = try await state.services.catalog.object(bucket: bucket, key: key)
        return Self.xml(XMLText.document("CopyObjectResult", XMLText.element("LastModified", Self.isoTime(stored?.lastModifiedMillis ?? 0))
            + XMLText.element("ETag", object.etag)))
    }

    // MARK: - Get and head

    /// The error of the first failed condition (If-Match, If-Unmodified-Since, If-None-Match,
    /// If-Modified-Since in RFC 9110's order), or nil when the request may go on.
    static func conditionFailure(_ object: BucketObject, headers: [String: String], prefix: String = "") -> S3Error? {
        let modified = object.lastModifiedMillis / 1000
        if let match = headers[prefix + "if-match"] {
            if !matches(match, object.etag) { return S3Error(.preconditionFailed, "the If-Match condition did not hold") }
        } else if let since = headers[prefix + "if-unmodified-since"].flatMap(parseHTTPDate), modified > since {
            return S3Error(.preconditionFailed, "the object was modified after If-Unmodified-Since")
        }
        if let noneMatch = headers[prefix + "if-none-match"] {
            if matches(noneMatch, object.etag) { return S3Error(.notModified, "the object's ETag is one If-None-Match names") }
        } else if let since = headers[prefix + "if-modified-since"].flatMap(parseHTTPDate), modified <= since {
            return S3Error(.notModified, "the object was not modified since If-Modified-Since")
        }
        return nil
    }

    /// What a `Range` header asks of an object.
    enum RequestedRange: Equatable {
        /// No header, or one this server ignores as HTTP allows (malformed, several ranges).
        case whole
        case bytes(ClosedRange<Int64>)
        /// Starts past the end (416 InvalidRange).
        case unsatisfiable
    }

    static func range(_ header: String?, size: Int64) -> RequestedRange {
        guard let header, header.hasPrefix("bytes="), !header.contains(",") else { return .whole }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        guard let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let suffix = Int64(last) else { return .whole }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .bytes(max(0, size - suffix)...(size - 1))
        }
        guard let start = Int64(first) else { return .whole }
        guard let end = last.isEmpty ? Int64.max : Int64(last), end >= start else { return .whole }
        guard start < size else { return .unsatisfiable }
        return .bytes(start...min(end, size - 1))
    }

    func getObject(_ request: S3Request, _ bucket: String, _ key: String, head: Bool) async throws -> Response {
        try Self.require(request, .read, bucket: bucket)
        _ = try await existingBucket(bucket)
        // A put that replaces the object may remove the bytes this read was about to fetch:
        // the index is read again, once, and names the new ones.
        for attempt in 0..<2 {
            guard let object = try await state.services.catalog.object(bucket: bucket, key: key) else {
                throw S3Error(.noSuchKey, "the specified key does not exist", resource: "/\(bucket)/\(key)")
            }
            do {
                return try await respond(with: object, request, head: head)
            } catch let error as ObjectStoreError where error.kind == .notFound && attempt == 0 {
                continue
            }
        }
        throw S3Error(.serviceUnavailable, "the object changed while it was read; retry")
    }

    func respond(with object: BucketObject, _ request: S3Request, head: Bool) async throws -> Response {
        var headers = HTTPFields()
        headers[.eTag] = object.etag
        headers[.lastModified] = Self.httpDate(object.lastModifiedMillis)
        if let failure = Self.conditionFailure(object, headers: request.headers) {
            if failure.code == .notModified { return Self.empty(.notModified, headers: headers) }
            throw failure
        }
        headers[.contentType] = object.contentType ?? "binary/octet-stream"
        headers[.acceptRanges] = "bytes"
        for (name, value) in object.metadata.sorted(by: { $0.key < $1.key }) {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        let overrides = ["response-content-type": HTTPField.Name.contentType, "response-content-language": .contentLanguage,
                         "response-expires": .expires, "response-cache-control": .cacheControl,
                         "response-content-disposition": .contentDisposition, "response-content-encoding": .contentEncoding]
        for (parameter, field) in overrides { if let value = request.parameter(parameter) { headers[field] = value } }
        let range: ClosedRange<Int64>?
        switch Self.range(request.headers["range"], size: object.size) {
        case .whole: range = nil
        case .bytes(let bytes): range = bytes
        case .unsatisfiable:
            let resource = "/\(request.bucket ?? "")/\(object.key)"
            var response = Self.errorResponse(S3Error(.invalidRange, "the requested range is not satisfiable", resource: resource),
                                              requestID: "", head: head, resource: resource)
            response.headers[.contentRange] = "bytes */\(object.size)"
            return response
        }
        if request.headers["x-amz-checksum-mode"]?.uppercased() == "ENABLED", range == nil, let checksum = object.checksum,
           let colon = checksum.firstIndex(of: ":"), let algorithm = S3Checksum(rawValue: String(checksum[..<colon])) {
            headers[HTTPField.Name(algorithm.header)!] = String(checksum[checksum.index(after: colon)...])
        }
        let length = range.map { $0.upperBound - $0.lowerBound + 1 } ?? object.size
        headers[.contentLength] = String(length)
        if let range { headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(object.size)" }
        let status: HTTPResponse.Status = range == nil ? .ok : .partialContent
        guard !head else { return Response(status: status, headers: headers, body: ResponseBody()) }
        headers[.contentLength] = nil
        let storage = try ObjectKey(object.storageKey)
        let store = state.services.store
        let start = range?.lowerBound ?? 0
        // Large objects go out in pieces read one at a time (bounded memory, first bytes sooner).
        // The first piece is read before the response starts, so a missing object is still an
        // error status; a piece missing later (the object overwritten mid-read) cuts the body.
        let first = try await Self.piece(store, storage, object: object, offset: start, length: min(length, Self.getPieceBytes))
        guard length > Self.getPieceBytes else {
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: first)))
        }
        return Response(status: status, headers: headers, body: Self.streamed(store, storage, object: object, first: first, from: start, length: length))
    }

    /// The body of a large GET: `first`, then the rest of the range read piece by piece.
    static func streamed(_ store: any ObjectStore, _ storage: ObjectKey, object: BucketObject, first: [UInt8], from start: Int64,
                         length: Int64) -> ResponseBody {
        ResponseBody(contentLength: Int(length)) { writer in
            try await writer.write(ByteBuffer(bytes: first))
            var offset = start + Int64(first.count)
            let end = start + length
            while offset < end {
                let bytes = try await piece(store, storage, object: object, offset: offset, length: min(end - offset, getPieceBytes))
                try await writer.write(ByteBuffer(bytes: bytes))
                offset += Int64(bytes.count)
            }
            try await writer.finish(nil)
        }
    }

    /// GET reads objects in pieces of this size.
    static let getPieceBytes: Int64 = 8 << 20

    static func piece(_ store: any ObjectStore, _ storage: ObjectKey, object: BucketObject, offset: Int64, length: Int64) async throws -> [UInt8] {
        guard length > 0 else { return [] }
        let bytes: [UInt8]
        if offset == 0 && length == object.size {
            bytes = try await store.get(storage)
        } else {
            bytes = try await store.get(storage, range: .bounded(offset: Int(offset), length: Int(length)))
        }
        guard bytes.count == Int(length) else {
            throw S3Error(.internalError, "the store returned \(bytes.count) bytes of \(length) for '\(object.key)'")
        }
        return bytes
    }

    func deleteObject(_ request: S3Request, _ bucket: String, _ key: String) async throws -> Response {
        try Self.require(request, .write, bucket: bucket)
        _ = try await existingBucket(bucket)
        if let storage = try await state.services.catalog.deleteObject(bucket: bucket, key: key) { await discard(storage) }
        return Self.empty(.noContent)
    }
}
