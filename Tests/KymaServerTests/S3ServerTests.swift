// The S3 byte plane and the bucket admin API of a real server. S3 requests are signed by
// libcurl's own SigV4 (CURLOPT_AWS_SIGV4), not by the code under test; awscli, boto3, s3tests
// and the minio SDK judge the rest (harness/s3-checks).

import Foundation
import KymaBuckets
import KymaCatalog
import KymaCore
import KymaHTTP
import KymaObjectStore
import KymaRuntime
import KymaServer
import KymaTestSupport
import Testing

@Suite("S3 byte plane and bucket admin", .serialized)
struct S3ServerTests {
    /// An API key with S3 credentials.
    func s3Key(_ fixture: ServerFixture, _ role: APIKeyRole, buckets: [String]? = nil) async throws -> (token: String, access: String, secret: String) {
        let made = APIKeyToken.generate(name: "s3", role: role, tables: buckets)
        try await fixture.services.catalog.createAPIKey(made.record, secretHash: made.secretHash)
        let credentials = APIKeyToken.s3Credentials(for: made.record)
        try await fixture.services.catalog.setS3Credentials(keyID: made.record.id, accessKey: credentials.accessKey, secret: credentials.secret)
        return (made.token, credentials.accessKey, credentials.secret)
    }

    func s3(_ fixture: ServerFixture, _ method: String, _ path: String, access: String, secret: String, body: [UInt8]? = nil,
            headers: [String: String] = [:]) async throws -> ServerFixture.Reply {
        let url = "http://127.0.0.1:\(try #require(fixture.server.s3Port))" + path
        let response = try await BlockingIO.run {
            try HTTPClient.perform(method: method, url: url, headers: headers, body: body, sigV4Scope: "aws:amz:us-east-1:s3",
                                   userPassword: "\(access):\(secret)", connectTimeoutMillis: 5000, timeoutMillis: 60_000)
        }
        return ServerFixture.Reply(status: response.status, headers: response.headers, body: response.body)
    }

    func code(_ reply: ServerFixture.Reply) -> String? {
        guard let start = reply.text.range(of: "<Code>"), let end = reply.text.range(of: "</Code>") else { return nil }
        return String(reply.text[start.upperBound..<end.lowerBound])
    }

    @Test func putGetListAndDeleteSignedByLibcurl() async throws {
        let fixture = try await ServerFixture.make("kyma_s3_roundtrip")
        defer { Task { await fixture.server.stop() } }
        let key = try await s3Key(fixture, .admin)
        #expect(try await s3(fixture, "PUT", "/photos", access: key.access, secret: key.secret).status == 200)
        let bytes = Array((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let put = try await s3(fixture, "PUT", "/photos/2026/a%20b.bin", access: key.access, secret: key.secret, body: bytes,
                               headers: ["Content-Type": "application/octet-stream", "x-amz-meta-camera": "x100"])
        #expect(put.status == 200)
        #expect(put.headers["etag"] == "\"\(Hex.encode(MD5.digest(bytes)))\"")
        let got = try await s3(fixture, "GET", "/photos/2026/a%20b.bin", access: key.access, secret: key.secret)
        #expect(got.status == 200 && got.body == bytes)
        #expect(got.headers["x-amz-meta-camera"] == "x100")
        let ranged = try await s3(fixture, "GET", "/photos/2026/a%20b.bin", access: key.access, secret: key.secret, headers: ["Range": "bytes=10-19"])
        #expect(ranged.status == 206 && ranged.body == Array(bytes[10...19]))
        #expect(ranged.headers["content-range"] == "bytes 10-19/70000")
        // The bytes are an object of the store under the bucket's prefix; the catalog indexes them.
        let indexed = try #require(try await fixture.services.catalog.object(bucket: "photos", key: "2026/a b.bin"))
        #expect(indexed.storageKey.hasPrefix("buckets/photos/objects/"))
        #expect(try await fixture.services.store.get(try ObjectKey(indexed.storageKey)) == bytes)

        // (Parameters in sorted order: libcurl 7.88 signs the query as written, unsorted.)
        let listed = try await s3(fixture, "GET", "/photos?delimiter=%2F&list-type=2", access: key.access, secret: key.secret)
        #expect(listed.text.contains("<Prefix>2026/</Prefix>") && listed.text.contains("<KeyCount>1</KeyCount>"), "\(listed)")
        // Past 8 MiB a GET is streamed in pieces: whole, and a range across two piece edges.
        let large = Array((0..<(20 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 13) })
        #expect(try await s3(fixture, "PUT", "/photos/large.bin", access: key.access, secret: key.secret, body: large).status == 200)
        let whole = try await s3(fixture, "GET", "/photos/large.bin", access: key.access, secret: key.secret)
        #expect(whole.status == 200 && whole.body == large)
        let across = try await s3(fixture, "GET", "/photos/large.bin", access: key.access, secret: key.secret,
                                  headers: ["Range": "bytes=\((8 << 20) - 5)-\((16 << 20) + 4)"])
        #expect(across.status == 206 && across.body == Array(large[((8 << 20) - 5)...((16 << 20) + 4)]))
        let missing = try await s3(fixture, "GET", "/photos/none", access: key.access, secret: key.secret)
        #expect(missing.status == 404 && code(missing) == "NoSuchKey")
        #expect(try await s3(fixture, "DELETE", "/photos/2026/a%20b.bin", access: key.access, secret: key.secret).status == 204)
        // The replaced bytes are gone from the store as well as from the index.
        await #expect(throws: ObjectStoreError.self) { try await fixture.services.store.get(try ObjectKey(indexed.storageKey)) }
        #expect(try await s3(fixture, "DELETE", "/photos", access: key.access, secret: key.secret).status == 409, "large.bin is still there")
        #expect(try await s3(fixture, "DELETE", "/photos/large.bin", access: key.access, secret: key.secret).status == 204)
        #expect(try await s3(fixture, "DELETE", "/photos", access: key.access, secret: key.secret).status == 204)
    }

    @Test func signaturesScopesAndRevocation() async throws {
        let fixture = try await ServerFixture.make("kyma_s3_access")
        defer { Task { await fixture.server.stop() } }
        let admin = try await s3Key(fixture, .admin)
        _ = try await s3(fixture, "PUT", "/mine", access: admin.access, secret: admin.secret)
        _ = try await s3(fixture, "PUT", "/theirs", access: admin.access, secret: admin.secret)
        let wrong = try await s3(fixture, "PUT", "/mine/x", access: admin.access, secret: "not-the-secret", body: [1])
        #expect(wrong.status == 403 && code(wrong) == "SignatureDoesNotMatch")
        let unsigned = try await fixture.request("GET", "/", key: nil)  // the API port; S3's refuses anonymous requests below
        #expect(unsigned.status == 200)
        let scoped = try await s3Key(fixture, .write, buckets: ["mine"])
        #expect(try await s3(fixture, "PUT", "/mine/x", access: scoped.access, secret: scoped.secret, body: [1]).status == 200)
        let outside = try await s3(fixture, "PUT", "/theirs/x", access: scoped.access, secret: scoped.secret, body: [1])
        #expect(outside.status == 403 && code(outside) == "AccessDenied")
        #expect(try await fixture.services.catalog.object(bucket: "theirs", key: "x") == nil)
        let buckets = try await s3(fixture, "GET", "/", access: scoped.access, secret: scoped.secret)
        #expect(buckets.text.contains("<Name>mine</Name>") && !buckets.text.contains("<Name>theirs</Name>"))
        // Revocation applies to the next request: keys are looked up per request.
        let keyID = String(scoped.token.split(separator: "_")[1])
        #expect(try await fixture.services.catalog.revokeAPIKey(id: keyID))
        let revoked = try await s3(fixture, "GET", "/mine/x", access: scoped.access, secret: scoped.secret)
        #expect(revoked.status == 403 && code(revoked) == "InvalidAccessKeyId")
    }

    @Test func bucketAdminAPI() async throws {
        let fixture = try await ServerFixture.make("kyma_s3_admin")
        defer { Task { await fixture.server.stop() } }
        let created = try await fixture.post("/admin/buckets", #"{"name":"docs","settings":{"description":"manuals"}}"#, key: fixture.admin)
        #expect(created.status == 201, "\(created)")
        #expect(try await fixture.post("/admin/buckets", #"{"name":"docs"}"#, key: fixture.admin).status == 409)
        #expect(try await fixture.post("/admin/buckets", #"{"name":"Bad_Name"}"#, key: fixture.admin).status == 400)
        #expect(try await fixture.post("/admin/buckets", #"{"name":"x1","colour":"red"}"#, key: fixture.admin).status == 400)
        let reader = try await fixture.key(.read)
        #expect(try await fixture.post("/admin/buckets", #"{"name":"nope"}"#, key: reader).status == 403)

        let keys = ["a/1", "a/2", "a/b/3", "b", "c/4"]
        for key in keys {
            _ = try await fixture.services.catalog.putObject(
                bucket: "docs", BucketObject(key: key, size: 10, etag: "\"e\"", contentType: nil, metadata: [:], storageKey: "s/\(key)", checksum: nil),
                condition: .always, enqueue: [])
        }
        let described = try await fixture.get("/admin/buckets/docs", key: reader)
        #expect(described.json["objects"] as? Int == 5 && described.json["bytes"] as? Int == 50)
        #expect((described.json["settings"] as? [String: String]) == ["description": "manuals"])
        // Pages of two with '/' as delimiter: a/ (prefix), b (key), c/ (prefix).
        var entries: [String] = []
        var continuation: String? = nil
        repeat {
            var path = "/admin/buckets/docs/objects?delimiter=%2F&max_keys=2"
            if let continuation { path += "&continuation=" + SigV4Encoding.encode(continuation) }
            let page = try await fixture.get(path, key: reader)
            #expect(page.status == 200, "\(page)")
            entries += ((page.json["objects"] as? [[String: Any]]) ?? []).compactMap { $0["key"] as? String }
            entries += (page.json["common_prefixes"] as? [String]) ?? []
            continuation = page.json["continuation"] as? String
        } while continuation != nil
        #expect(entries.sorted() == ["a/", "b", "c/"])
        #expect(try await fixture.get("/admin/buckets/docs/objects?max_keys=0", key: reader).status == 400)

        let updated = try await fixture.request("PUT", "/admin/buckets/docs", key: fixture.admin, body: Array(#"{"settings":{"owner":"ops"}}"#.utf8))
        #expect((updated.json["settings"] as? [String: String]) == ["owner": "ops"], "\(updated)")
        #expect(try await fixture.request("DELETE", "/admin/buckets/docs", key: fixture.admin).status == 409)
        for key in keys { _ = try await fixture.services.catalog.deleteObject(bucket: "docs", key: key) }
        #expect(try await fixture.request("DELETE", "/admin/buckets/docs", key: fixture.admin).status == 200)
        #expect(try await fixture.get("/admin/buckets/docs", key: reader).status == 404)
        let listed = try await fixture.get("/admin/buckets", key: reader)
        #expect((listed.json["buckets"] as? [Any])?.isEmpty == true)
    }

    @Test func aRuleTurnsPutObjectsIntoRows() async throws {
        let fixture = try await ServerFixture.make("kyma_s3_rules")
        defer { Task { await fixture.server.stop() } }
        let key = try await s3Key(fixture, .admin)
        _ = try await s3(fixture, "PUT", "/drop", access: key.access, secret: key.secret)
        let rule = try await fixture.post("/admin/buckets/drop/rules",
                                          #"{"name":"json","pipeline":"logs-to-table","destination":"drops","include":["in/**/*.json"],"options":{"time_field":"ts"}}"#,
                                          key: fixture.admin)
        #expect(rule.status == 201, "\(rule)")
        let bad = try await fixture.post("/admin/buckets/drop/rules", #"{"name":"x","pipeline":"logs-to-table","destination":"t","options":{"speed":"fast"}}"#,
                                         key: fixture.admin)
        #expect(bad.status == 400 && bad.text.contains("unknown option 'speed'"), "\(bad)")
        let lines = (0..<250).map { "{\"ts\":\"2026-12-07T10:00:00Z\",\"n\":\($0)}\n" }.joined()
        #expect(try await s3(fixture, "PUT", "/drop/in/2026/a.json", access: key.access, secret: key.secret, body: Array(lines.utf8)).status == 200)
        #expect(try await s3(fixture, "PUT", "/drop/elsewhere/b.json", access: key.access, secret: key.secret, body: Array(lines.utf8)).status == 200)
        let pending = try await fixture.get("/admin/buckets/drop/jobs", key: fixture.admin)
        #expect((pending.json["counts"] as? [String: Int])?["pending"] == 1, "only the object the rule takes has a job: \(pending)")
        let worker = BucketWorker(catalog: fixture.services.catalog, store: fixture.services.store, formats: fixture.services.formats, owner: "test")
        while try await worker.runOnce(nowNanos: { 0 }) != nil {}
        let count = try await fixture.post("/v1/query", #"{"query":"drops | summarize n = count(), s = sum(n)"}"#, key: fixture.admin)
        let row = (count.json["rows"] as? [[String: Any]])?.first
        #expect(row?["n"] as? Int == 250 && row?["s"] as? Int == (0..<250).reduce(0, +), "\(count)")
        let done = try await fixture.get("/admin/buckets/drop/jobs", key: fixture.admin)
        #expect((done.json["counts"] as? [String: Int])?["done"] == 1, "\(done)")
        // By hand: a job for the other object through the rule is made (once), and runs.
        let manual = try await fixture.post("/drop/ingest", #"{"key":"elsewhere/b.json","rule":\#(((rule.json["id"] as? Int) ?? 0))}"#, key: fixture.admin)
        #expect(manual.status == 202, "\(manual)")
        #expect(try await fixture.post("/drop/ingest", #"{"key":"nope"}"#, key: fixture.admin).status == 404)
        var outcomes: [BucketWorker.Outcome] = []
        while let outcome = try await worker.runOnce(nowNanos: { 0 }) { outcomes.append(outcome) }
        #expect(outcomes.count == 1, "\(outcomes) \(manual)")
        let again = try await fixture.post("/v1/query", #"{"query":"drops | count"}"#, key: fixture.admin)
        #expect(((again.json["rows"] as? [[String: Any]])?.first?["Count"] as? Int) == 500, "\(again)")
    }
}

/// Percent-encoding of a query value (RFC 3986 unreserved characters kept).
enum SigV4Encoding {
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? text
    }
}
