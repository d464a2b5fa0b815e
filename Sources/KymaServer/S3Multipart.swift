// Multipart uploads of the S3 byte plane: create, upload part (and upload part copy), list
// parts, complete, abort. Parts are objects of the store of their own; completing joins them
// into one new object and indexes it in the transaction that ends the upload, so a completed
// upload is one object and an interrupted completion leaves the upload as it was.
//
// ETag of the result: hex(MD5(md5(part 1) || ... || md5(part N))) + "-N", as S3 computes it.

import Foundation
import HTTPTypes
import Hummingbird
import KymaBuckets
import KymaCatalog
import KymaCore
import KymaKernels
import KymaObjectStore
import KymaS3

extension S3Server {
    /// Every part but the last must be at least this large (S3's 5 MiB).
    static let minimumPartBytes: Int64 = 5 << 20

    /// The upload, if it exists and is for this bucket and key; NoSuchUpload otherwise.
    func existingUpload(_ id: String, bucket: String, key: String) async throws -> MultipartUpload {
        guard let upload = try await state.services.catalog.upload(id: id), upload.bucket == bucket, upload.key == key else {
            throw S3Error(.noSuchUpload, "the specified multipart upload does not exist: it may have been aborted or completed", resource: id)
        }
        return upload
    }

    func createUpload(_ request: S3Request, _ bucket: String, _ key: String) async throws -> Response {
        try Self.require(request, .write, bucket: bucket)
        try Self.checkKey(key)
        _ = try await existingBucket(bucket)
        if let algorithm = request.headers["x-amz-checksum-algorithm"], S3Checksum(rawValue: algorithm.lowercased()) == nil {
            throw S3Error(.invalidRequest, "checksum algorithm '\(algorithm)' is not supported")
        }
        let upload = try await state.services.catalog.createUpload(bucket: bucket, key: key, contentType: request.headers["content-type"],
                                                                   metadata: try Self.storedMetadata(request))
        var response = Self.xml(XMLText.document("InitiateMultipartUploadResult",
                                                 XMLText.element("Bucket", bucket) + XMLText.element("Key", key) + XMLText.element("UploadId", upload.uploadID)))
        if let algorithm = request.headers["x-amz-checksum-algorithm"] { response.headers[HTTPField.Name("x-amz-checksum-algorithm")!] = algorithm }
        return response
    }

    static func partNumber(_ request: S3Request) throws(S3Error) -> Int {
        guard let text = request.parameter("partNumber"), let number = Int(text), (1...10_000).contains(number) else {
            throw S3Error(.invalidArgument, "partNumber must be an integer from 1 to 10000")
        }
        return number
    }

    func uploadPart(_ request: S3Request, _ bucket: String, _ key: String, _ uploadID: String) async throws -> Response {
        try Self.require(request, .write, bucket: bucket)
        let number = try Self.partNumber(request)
        _ = try await existingBucket(bucket)
        _ = try await existingUpload(uploadID, bucket: bucket, key: key)
        var bytes = request.body
        var checksum: (S3Checksum, String)? = nil
        var copied = false
        if request.headers["x-amz-copy-source"] != nil {
            let source = try await copySourceObject(request)
            let storage = try ObjectKey(source.storageKey)
            if let header = request.headers["x-amz-copy-source-range"] {
                guard case .bytes(let range) = Self.range(header, size: source.size) else {
                    throw S3Error(.invalidRange, "x-amz-copy-source-range '\(header)' is outside the source of \(source.size) bytes")
                }
                bytes = try await state.services.store.get(storage, range: .bounded(offset: Int(range.lowerBound), length: Int(range.count)))
            } else {
                bytes = source.size == 0 ? [] : try await state.services.store.get(storage)
            }
            copied = true
        } else {
            checksum = try S3Checksum.verify(bytes, headers: request.headers, trailers: request.trailers)
        }
        let storage = try ObjectKey("buckets/\(bucket)/uploads/\(uploadID)/\(number)-\(UUID().uuidString.lowercased())")
        try await state.services.store.put(storage, bytes)
        let part = UploadPart(number: number, size: Int64(bytes.count), etag: Self.etag(bytes), storageKey: storage.rawValue,
                              checksum: checksum.map { "\($0.0.rawValue):\($0.1)" })
        do {
            if let replaced = try await state.services.catalog.putPart(uploadID: uploadID, part) { await discard(replaced) }
        } catch {
            await discard(storage.rawValue)
            if case .tableNotFound = error { throw S3Error(.noSuchUpload, "the multipart upload was completed or aborted meanwhile", resource: uploadID) }
            throw error
        }
        if copied {
            return Self.xml(XMLText.document("CopyPartResult", XMLText.element("LastModified", Self.isoTime(state.now() / 1_000_000))
                + XMLText.element("ETag", part.etag)))
        }
        var headers = HTTPFields()
        headers[.eTag] = part.etag
        if let (algorithm, value) = checksum { headers[HTTPField.Name(algorithm.header)!] = value }
        return Self.empty(.ok, headers: headers)
    }

    func listParts(_ request: S3Request, _ bucket: String, _ key: String, _ uploadID: String) async throws -> Response {
        try Self.require(request, .read, bucket: bucket)
        _ = try await existingBucket(bucket)
        _ = try await existingUpload(uploadID, bucket: bucket, key: key)
        var maxParts = 1000
        if let text = request.parameter("max-parts") {
            guard let value = Int(text), value >= 0 else { throw S3Error(.invalidArgument, "max-parts must be a non-negative integer") }
            maxParts = min(value, 1000)
        }
        let marker = Int(request.parameter("part-number-marker") ?? "0") ?? 0
        let remaining = try await state.services.catalog.parts(uploadID: uploadID).filter { $0.number > marker }
        let page = remaining.prefix(maxParts)
        let truncated = remaining.count > page.count
        var body = XMLText.element("Bucket", bucket) + XMLText.element("Key", key) + XMLText.element("UploadId", uploadID)
            + owner(request) + XMLText.element("StorageClass", "STANDARD") + XMLText.element("PartNumberMarker", String(marker))
            + XMLText.element("NextPartNumberMarker", String(page.last?.number ?? marker)) + XMLText.element("MaxParts", String(maxParts))
            + XMLText.element("IsTruncated", truncated ? "true" : "false")
        for part in page {
            body += XMLText.node("Part", XMLText.element("PartNumber", String(part.number)) + XMLText.element("LastModified", Self.isoTime(part.lastModifiedMillis))
                + XMLText.element("ETag", part.etag) + XMLText.element("Size", String(part.size)))
        }
        return Self.xml(XMLText.document("ListPartsResult", body))
    }

    func completeUpload(_ request: S3Request, _ bucket: String, _ key: String, _ uploadID: String) async throws -> Response {
        try Self.require(request, .write, bucket: bucket)
        _ = try await existingBucket(bucket)
        let upload = try await existingUpload(uploadID, bucket: bucket, key: key)
        let root = try XMLElement.parse(request.body)
        guard root.name == "CompleteMultipartUpload" else { throw S3Error(.malformedXML, "expected <CompleteMultipartUpload>, found <\(root.name)>") }
        var chosen: [(number: Int, etag: String)] = []
        for element in root.all("Part") {
            guard let number = element.first("PartNumber").flatMap({ Int($0.text.trimmingCharacters(in: .whitespaces)) }),
                  let etag = element.first("ETag")?.text else {
                throw S3Error(.malformedXML, "each <Part> needs a <PartNumber> and an <ETag>")
            }
            chosen.append((number, etag))
        }
        guard !chosen.isEmpty else { throw S3Error(.malformedXML, "the XML you provided did not name any part") }
        for (previous, next) in zip(chosen, chosen.dropFirst()) where next.number <= previous.number {
            throw S3Error(.invalidPartOrder, "the list of parts was not in ascending order: part \(next.number) follows part \(previous.number)")
        }
        let uploaded = Dictionary(try await state.services.catalog.parts(uploadID: uploadID).map { ($0.number, $0) }, uniquingKeysWith: { _, last in last })
        var parts: [UploadPart] = []
        for (index, choice) in chosen.enumerated() {
            guard let part = uploaded[choice.number], Self.unquoted(part.etag) == Self.unquoted(choice.etag) else {
                throw S3Error(.invalidPart, "part \(choice.number) was not uploaded, or its ETag is not \(choice.etag)")
            }
            if index < chosen.count - 1, part.size < Self.minimumPartBytes {
                throw S3Error(.entityTooSmall, "part \(choice.number) is \(part.size) bytes; every part but the last must be at least \(Self.minimumPartBytes)")
            }
            parts.append(part)
        }
        let total = parts.reduce(Int64(0)) { $0 + $1.size }
        guard total <= Int64(state.settings.maxObjectBytes) else {
            throw S3Error(.entityTooLarge, "the parts add up to \(total) bytes; the largest object is \(state.settings.maxObjectBytes)")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(total))
        var digests: [UInt8] = []
        for part in parts {
            let piece = part.size == 0 ? [] : try await state.services.store.get(try ObjectKey(part.storageKey))
            guard piece.count == Int(part.size) else { throw S3Error(.internalError, "part \(part.number) has \(piece.count) bytes in the store, not \(part.size)") }
            bytes += piece
            digests += DigestKernels.md5(piece)
        }
        let etag = "\"\(Hex.encode(MD5.digest(digests)))-\(parts.count)\""
        let storage = try Self.storageKey(bucket: bucket)
        try await state.services.store.put(storage, bytes)
        let object = BucketObject(key: key, size: total, etag: etag, contentType: upload.contentType, metadata: upload.metadata,
                                  storageKey: storage.rawValue, checksum: nil)
        let garbage: [String]
        do {
            let jobs = IngestJob.requests(for: object, bucket: bucket, rules: try await state.services.catalog.rules(bucket: bucket))
            garbage = try await state.services.catalog.completeUpload(uploadID: uploadID, object, enqueue: jobs)
        } catch {
            await discard(storage.rawValue)
            if case .tableNotFound = error { throw S3Error(.noSuchUpload, "the multipart upload was completed or aborted meanwhile", resource: uploadID) }
            throw error
        }
        for key in garbage { await discard(key) }
        return Self.xml(XMLText.document("CompleteMultipartUploadResult", XMLText.element("Location", "/\(bucket)/\(key)")
            + XMLText.element("Bucket", bucket) + XMLText.element("Key", key) + XMLText.element("ETag", etag)))
    }

    func abortUpload(_ request: S3Request, _ bucket: String, _ key: String, _ uploadID: String) async throws -> Response {
        try Self.require(request, .write, bucket: bucket)
        _ = try await existingBucket(bucket)
        _ = try await existingUpload(uploadID, bucket: bucket, key: key)
        let garbage: [String]
        do {
            garbage = try await state.services.catalog.abortUpload(uploadID: uploadID)
        } catch .tableNotFound {
            throw S3Error(.noSuchUpload, "the specified multipart upload does not exist", resource: uploadID)
        }
        for key in garbage { await discard(key) }
        return Self.empty(.noContent)
    }
}
