// Discovery of a source's objects: a first scan makes a job per object a source rule takes, a
// second scan of the same objects makes none, a changed object makes one; bucket objects never
// match source rules nor source objects bucket rules; a changed object's rows replace its old
// ones; a worker reads source objects through
// the opener it was given, and without one fails the job with the source kind.

import Foundation
import KymaBuckets
import KymaCatalog
import KymaFormat
import KymaFormatTLM
import KymaObjectStore
import KymaObjectStoreLocal
import KymaTestSupport
import Testing

@Suite("Source discovery", .serialized)
struct SourceDiscoveryTests {
    func lines(_ count: Int, tag: String) -> [UInt8] { Array((0..<count).map { "\(tag) line \($0)\n" }.joined().utf8) }

    @Test func scansMakeJobsForWhatIsNewOrChangedOnly() async throws {
        let f = try await BucketFixture.make()
        let remote = try LocalFileSystemObjectStore(root: TestServices.makeTemporaryDirectory("kyma-source"))
        _ = try await f.catalog.createBucket(named: "b", settings: [:])
        let source = try await f.catalog.createSource(BucketSource(bucket: "b", name: "ext", endpoint: "http://127.0.0.1:9", region: "us-east-1",
                                                                   remoteBucket: "logs", accessKeyID: "AKID", secretKey: "hidden"))
        _ = try await f.catalog.createRule(BucketRule(bucket: "b", name: "remote", pipeline: "logs-to-table", destination: "remote_lines",
                                                      include: ["**/*.log"], source: "ext"))
        _ = try await f.catalog.createRule(BucketRule(bucket: "b", name: "own", pipeline: "logs-to-table", destination: "own_lines", include: ["**/*.log"]))
        try await remote.put(try ObjectKey("app/a.log"), lines(40, tag: "a"))
        try await remote.put(try ObjectKey("app/b.log"), lines(25, tag: "b"))
        try await remote.put(try ObjectKey("app/c.png"), [1, 2, 3])

        let first = try await SourceDiscovery.scan(source, store: remote, catalog: f.catalog, pageSize: 2)
        #expect(first == SourceDiscovery.Report(listed: 3, changed: 3, jobs: 2), "paged listing; the png matches no rule")
        #expect(try await SourceDiscovery.scan(source, store: remote, catalog: f.catalog) == SourceDiscovery.Report(listed: 3, changed: 0, jobs: 0))
        try await f.put("b", "own.log", lines(7, tag: "own"))

        let opener: SourceStoreOpener = { (opened: BucketSource) throws(BucketsError) -> any ObjectStore in
            guard opened.id == source.id, opened.secretKey == "hidden" else { throw BucketsError(.source, "wrong source \(opened.name)") }
            return remote
        }
        var worker = f.worker("w")
        worker.openSource = opener
        while try await worker.runOnce(nowNanos: { 0 }) != nil {}
        #expect(try await f.rows("remote_lines") == 65, "both source logs, once")
        #expect(try await f.rows("own_lines") == 7, "the bucket's own object went to the bucket's rule only")

        try await remote.put(try ObjectKey("app/b.log"), lines(30, tag: "b2"))
        #expect(try await SourceDiscovery.scan(source, store: remote, catalog: f.catalog) == SourceDiscovery.Report(listed: 3, changed: 1, jobs: 1))
        while try await worker.runOnce(nowNanos: { 0 }) != nil {}
        #expect(try await f.rows("remote_lines") == 40 + 30, "the changed object's new version replaced its 25 rows")

        try await remote.put(try ObjectKey("app/d.log"), lines(5, tag: "d"))
        #expect(try await SourceDiscovery.scan(source, store: remote, catalog: f.catalog).jobs == 1)
        guard case .failed(_, let error)? = try await f.worker("no-sources").runOnce(nowNanos: { 0 }) else {
            Issue.record("a worker without a source opener ran a source job")
            return
        }
        #expect(error.contains("without access to sources"), "\(error)")
    }

    @Test func sourcesAreNamedOncePerBucketAndRulesNeedAnExistingOne() async throws {
        let f = try await BucketFixture.make()
        _ = try await f.catalog.createBucket(named: "b", settings: [:])
        let source = BucketSource(bucket: "b", name: "ext", endpoint: "http://h", region: "r", remoteBucket: "x")
        _ = try await f.catalog.createSource(source)
        await #expect(throws: CatalogError.self) { _ = try await f.catalog.createSource(source) }
        await #expect(throws: CatalogError.self) {
            _ = try await f.catalog.createRule(BucketRule(bucket: "b", name: "r", pipeline: "logs-to-table", destination: "t", source: "nope"))
        }
        _ = try await f.catalog.createRule(BucketRule(bucket: "b", name: "r", pipeline: "logs-to-table", destination: "t", source: "ext"))
        #expect(try await f.catalog.rules(bucket: "b").map(\.source) == ["ext"])
        #expect(try await f.catalog.deleteSource(bucket: "b", name: "ext"))
        #expect(try await f.catalog.rules(bucket: "b").isEmpty, "a source's rules go with it")
        #expect(try await f.catalog.deleteSource(bucket: "b", name: "ext") == false)
    }
}
