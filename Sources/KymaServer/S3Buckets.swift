// The bucket operations of the S3 byte plane: ListBuckets, CreateBucket, DeleteBucket,
// HeadBucket, GetBucketLocation, GetBucketVersioning, ListObjects (V1 and V2),
// ListMultipartUploads and DeleteObjects.

import Foundation
import HTTPTypes
import Hummingbird
import KymaCatalog
import KymaCore
import KymaObjectStore
import KymaS3

extension S3Server {
    /// S3's bucket naming rules: 3 to 63 of a-z 0-9 . -, starting and ending with a letter or
    /// digit, no `..`, not an IPv4 address.
    static func bucketNameProblem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else { return "must be 3 to 63 characters long" }
        func alnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        guard bytes.allSatisfy({ alnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) else {
            return "may hold only lowercase letters, digits, '.' and '-'"
        }
        guard alnum(bytes[0]), alnum(bytes[bytes.count - 1]) else { return "must start and end with a letter or digit" }
        guard !name.contains(".."), !name.contains(".-"), !name.contains("-.") else { return "may not have '..', '.-' or '-.'" }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        if octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }) { return "may not be an IP address" }
        return nil
    }

    /// The bucket, or NoSuchBucket.
    func existingBucket(_ name: String) async throws -> BucketInfo {
        guard let bucket = try await state.services.catalog.bucket(named: name) else {
            throw S3Error(.noSuchBucket, "the specified bucket does not exist", resource: name)
        }
        return bucket
    }

    func owner(_ request: S3Request) -> String {
        XMLText.node("Owner", XMLText.element("ID", request.principal.keyID) + XMLText.element("DisplayName", request.principal.keyID))
    }

    func listBuckets(_ request: S3Request) async throws -> Response {
        try Self.require(request, .read)
        let buckets = try await state.services.catalog.buckets().filter { bucket in request.principal.tables.map { $0.contains(bucket.name) } ?? true }
        let entries = buckets.map { bucket in
            XMLText.node("Bucket", XMLText.element("Name", bucket.name) + XMLText.element("CreationDate", Self.isoTime(bucket.createdAtMillis)))
        }
        return Self.xml(XMLText.document("ListAllMyBucketsResult", owner(request) + XMLText.node("Buckets", entries.joined())))
    }

    func createBucket(_ request: S3Request, _ name: String) async throws -> Response {
        try Self.require(request, .admin, bucket: name)
        if let problem = Self.bucketNameProblem(name) { throw S3Error(.invalidBucketName, "the bucket name '\(name)' \(problem)", resource: name) }
        if !request.body.isEmpty {
            // CreateBucketConfiguration: a location constraint, which one region ignores.
            let root = try XMLElement.parse(request.body)
            guard root.name == "CreateBucketConfiguration" else { throw S3Error(.malformedXML, "expected <CreateBucketConfiguration>, found <\(root.name)>") }
        }
        do {
            _ = try await state.services.catalog.createBucket(named: name, settings: [:])
        } catch .conflict {
            throw S3Error(.bucketAlreadyOwnedByYou, "your previous request to create the named bucket succeeded and you already own it", resource: name)
        }
        var headers = HTTPFields()
        headers[.location] = "/\(name)"
        return Self.empty(.ok, headers: headers)
    }

    func deleteBucket(_ request: S3Request, _ name: String) async throws -> Response {
        try Self.require(request, .admin, bucket: name)
        let garbage: [String]
        do {
            garbage = try await state.services.catalog.deleteBucket(named: name)
        } catch .conflict {
            throw S3Error(.bucketNotEmpty, "the bucket you tried to delete is not empty", resource: name)
        }
        for key in garbage { await discard(key) }
        return Self.empty(.noContent)
    }

    func headBucket(_ request: S3Request, _ name: String) async throws -> Response {
        try Self.require(request, .read, bucket: name)
        _ = try await existingBucket(name)
        var headers = HTTPFields()
        headers[HTTPField.Name("x-amz-bucket-region")!] = "us-east-1"
        return Self.empty(.ok, headers: headers)
    }

    func bucketLocation(_ request: S3Request, _ name: String) async throws -> Response {
        try Self.require(request, .read, bucket: name)
        _ = try await existingBucket(name)
        // us-east-1 is written as an empty constraint.
        return Self.xml("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"\(XMLText.namespace)\"></LocationConstraint>")
    }

    func bucketVersioning(_ request: S3Request, _ name: String) async throws -> Response {
        try Self.require(request, .read, bucket: name)
        _ = try await existingBucket(name)
        return Self.xml(XMLText.document("VersioningConfiguration", ""))
    }

    // MARK: - Listing

    /// ListObjects (V1), ListObjectsV2 (`list-type=2`) and ListObjectVersions (`versions`; one
    /// "null" version per object, as an unversioned S3 bucket answers).
    func listObjects(_ request: S3Request, _ name: String) async throws -> Response {
        try Self.require(request, .read, bucket: name)
        _ = try await existingBucket(name)
        enum Flavour { case v1, v2, versions }
        let flavour: Flavour = request.has("versions") ? .versions : request.parameter("list-type") == "2" ? .v2 : .v1
        let prefix = request.parameter("prefix") ?? ""
        let delimiter = request.parameter("delimiter")
        var maxKeys = 1000
        if let text = request.parameter("max-keys") {
            guard let value = Int(text), value >= 0 else { throw S3Error(.invalidArgument, "max-keys must be a non-negative integer; got '\(text)'") }
            maxKeys = min(value, 1000)
        }
        let encodeURL: Bool
        switch request.parameter("encoding-type") {
        case nil: encodeURL = false
        case "url"?: encodeURL = true
        case let other?: throw S3Error(.invalidArgument, "encoding-type must be 'url'; got '\(other)'")
        }
        func text(_ value: String) -> String { encodeURL ? Self.urlEncode(value) : value }
        func nonEmpty(_ name: String) -> String? { request.parameter(name).flatMap { $0.isEmpty ? nil : $0 } }
        let marker: String?
        switch flavour {
        case .v1: marker = nonEmpty("marker")
        case .versions: marker = nonEmpty("key-marker")
        case .v2:
            if let token = request.parameter("continuation-token") {
                guard let data = Data(base64Encoded: token), let decoded = String(data: data, encoding: .utf8) else {
                    throw S3Error(.invalidArgument, "the continuation token provided is incorrect")
                }
                marker = decoded
            } else {
                marker = nonEmpty("start-after")
            }
        }
        let page = try await BucketListing.page(state.services.catalog, bucket: name, prefix: prefix, delimiter: delimiter, marker: marker, maxKeys: maxKeys)
        var body = XMLText.element("Name", name) + XMLText.element("Prefix", text(prefix))
        switch flavour {
        case .v2:
            if let token = request.parameter("continuation-token") { body += XMLText.element("ContinuationToken", token) }
            if let after = request.parameter("start-after") { body += XMLText.element("StartAfter", text(after)) }
            body += XMLText.element("KeyCount", String(page.objects.count + page.prefixes.count))
        case .v1: body += XMLText.element("Marker", text(request.parameter("marker") ?? ""))
        case .versions: body += XMLText.element("KeyMarker", text(request.parameter("key-marker") ?? "")) + XMLText.element("VersionIdMarker", "")
        }
        body += XMLText.element("MaxKeys", String(maxKeys))
        if let delimiter { body += XMLText.element("Delimiter", text(delimiter)) }
        if encodeURL { body += XMLText.element("EncodingType", "url") }
        body += XMLText.element("IsTruncated", page.truncated ? "true" : "false")
        if page.truncated, let next = page.next {
            switch flavour {
            case .v2: body += XMLText.element("NextContinuationToken", Data(next.utf8).base64EncodedString())
            case .v1: if delimiter != nil { body += XMLText.element("NextMarker", text(next)) }
            case .versions: body += XMLText.element("NextKeyMarker", text(next)) + XMLText.element("NextVersionIdMarker", "null")
            }
        }
        let withOwner = flavour != .v2 || request.parameter("fetch-owner") == "true"
        for object in page.objects {
            let version = flavour == .versions ? XMLText.element("VersionId", "null") + XMLText.element("IsLatest", "true") : ""
            let fields = XMLText.element("Key", text(object.key)) + version + XMLText.element("LastModified", Self.isoTime(object.lastModifiedMillis))
                + XMLText.element("ETag", object.etag) + XMLText.element("Size", String(object.size))
                + (withOwner ? owner(request) : "") + XMLText.element("StorageClass", "STANDARD")
            body += XMLText.node(flavour == .versions ? "Version" : "Contents", fields)
        }
        for prefix in page.prefixes { body += XMLText.node("CommonPrefixes", XMLText.element("Prefix", text(prefix))) }
        return Self.xml(XMLText.document(flavour == .versions ? "ListVersionsResult" : "ListBucketResult", body))
    }

    /// encoding-type=url: every byte but the unreserved ones and '/' percent-encoded.
    static func urlEncode(_ value: String) -> String {
        value.split(separator: "/", omittingEmptySubsequences: false).map { SigV4.encode(String($0)) }.joined(separator: "/")
    }

    func listUploads(_ request: S3Request, _ name: String) async throws -> Response {
        try Self.require(request, .read, bucket: name)
        _ = try await existingBucket(name)
        let prefix = request.parameter("prefix") ?? ""
        let uploads = try await state.services.catalog.uploads(bucket: name).filter { $0.key.hasPrefix(prefix) }
        var body = XMLText.element("Bucket", name) + XMLText.element("KeyMarker", "") + XMLText.element("UploadIdMarker", "")
            + XMLText.element("NextKeyMarker", uploads.last?.key ?? "") + XMLText.element("NextUploadIdMarker", uploads.last?.uploadID ?? "")
            + XMLText.element("Prefix", prefix) + XMLText.element("MaxUploads", "1000") + XMLText.element("IsTruncated", "false")
        for upload in uploads {
            let initiator = XMLText.node("Initiator", XMLText.element("ID", request.principal.keyID) + XMLText.element("DisplayName", request.principal.keyID))
            body += XMLText.node("Upload", XMLText.element("Key", upload.key) + XMLText.element("UploadId", upload.uploadID) + initiator
                + owner(request) + XMLText.element("StorageClass", "STANDARD") + XMLText.element("Initiated", Self.isoTime(upload.initiatedMillis)))
        }
        return Self.xml(XMLText.document("ListMultipartUploadsResult", body))
    }

    /// DeleteObjects: up to 1000 keys, each deleted as DeleteObject would; the result names
    /// each (or, quiet, only the failures).
    func deleteObjects(_ request: S3Request, _ name: String) async throws -> Response {
        try Self.require(request, .write, bucket: name)
        _ = try await existingBucket(name)
        let root = try XMLElement.parse(request.body)
        guard root.name == "Delete" else { throw S3Error(.malformedXML, "expected <Delete>, found <\(root.name)>") }
        let keys = root.all("Object").map { $0.first("Key")?.text }
        guard !keys.isEmpty, keys.count <= 1000, keys.allSatisfy({ $0 != nil && !$0!.isEmpty }) else {
            throw S3Error(.malformedXML, "a Delete names 1 to 1000 objects, each with a Key")
        }
        let quiet = root.first("Quiet")?.text.lowercased() == "true"
        var body = ""
        for case let key? in keys {
            do {
                if let storage = try await state.services.catalog.deleteObject(bucket: name, key: key) { await discard(storage) }
                if !quiet { body += XMLText.node("Deleted", XMLText.element("Key", key)) }
            } catch {
                body += XMLText.node("Error", XMLText.element("Key", key) + XMLText.element("Code", "InternalError") + XMLText.element("Message", "\(error)"))
            }
        }
        return Self.xml(XMLText.document("DeleteResult", body))
    }

    /// Removes bytes no index entry names any more. The index changed first, so a failure here
    /// leaves unreferenced bytes under `buckets/`, never an entry without bytes: it is not the
    /// caller's error.
    func discard(_ storageKey: String) async {
        guard let key = try? ObjectKey(storageKey) else { return }
        try? await state.services.store.delete(key)
    }
}
