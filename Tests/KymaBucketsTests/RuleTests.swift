// Rules: which objects they take, and the errors for rules that cannot run.

import KymaBuckets
import KymaCatalog
import Testing

@Suite struct RuleTests {
    func object(_ key: String, size: Int64 = 100, type: String? = "text/plain") -> BucketObject {
        BucketObject(key: key, size: size, etag: "\"e\"", contentType: type, metadata: [:], storageKey: "s", checksum: nil)
    }

    @Test func takesByPatternTypeAndSize() {
        let rule = BucketRule(bucket: "b", name: "logs", pipeline: "logs-to-table", destination: "t", include: ["logs/**"], exclude: ["**/*.tmp"],
                              contentTypes: ["text/plain", "application/x-ndjson"], minSize: 10, maxSize: 1000)
        #expect(rule.takes(object("logs/a.log")))
        #expect(rule.takes(object("logs/a.log", type: "text/plain; charset=utf-8")))
        #expect(!rule.takes(object("other/a.log")))
        #expect(!rule.takes(object("logs/a.tmp")))
        #expect(!rule.takes(object("logs/a.log", type: "image/png")))
        #expect(!rule.takes(object("logs/a.log", type: nil)))
        #expect(!rule.takes(object("logs/a.log", size: 5)))
        #expect(!rule.takes(object("logs/a.log", size: 5000)))
        var off = rule
        off.enabled = false
        #expect(!off.takes(object("logs/a.log")))
        let everything = BucketRule(bucket: "b", name: "all", pipeline: "logs-to-table", destination: "t")
        #expect(everything.takes(object("anything/at/all", type: nil)))
    }

    @Test func jobsFollowPriorityAndAreOnePerVersionAndRule() {
        let low = BucketRule(id: 1, bucket: "b", name: "low", pipeline: "logs-to-table", destination: "t1", priority: 1)
        let high = BucketRule(id: 2, bucket: "b", name: "high", pipeline: "logs-to-table", destination: "t2", priority: 9)
        let other = BucketRule(id: 3, bucket: "b", name: "other", pipeline: "logs-to-table", destination: "t3", include: ["x/*"])
        let requests = IngestJob.requests(for: object("a.log"), bucket: "b", rules: [high, low, other])
        #expect(requests.count == 2)
        #expect(Set(requests.map(\.deduplicationKey)).count == 2)
        let again = IngestJob.requests(for: object("a.log"), bucket: "b", rules: [high, low])
        #expect(again.map(\.deduplicationKey) == requests.map(\.deduplicationKey), "the same version and rule: the same job")
        var changed = object("a.log")
        changed.etag = "\"f\""
        #expect(IngestJob.requests(for: changed, bucket: "b", rules: [high])[0].deduplicationKey != requests[0].deduplicationKey)
        let decoded = try? IngestJob.decode(requests[0].payload)
        #expect(decoded == IngestJob(bucket: "b", key: "a.log", etag: "\"e\"", rule: 2))
    }

    @Test(arguments: [
        BucketRule(bucket: "b", name: "r", pipeline: "rows-to-nowhere", destination: "t"),
        BucketRule(bucket: "b", name: "r", pipeline: "logs-to-table", destination: "t", options: ["colour": "red"]),
        BucketRule(bucket: "b", name: "r", pipeline: "logs-to-table", destination: "t", options: ["format": "xml"]),
        BucketRule(bucket: "b", name: "r", pipeline: "logs-to-table", destination: "t", options: ["time_format": "julian"]),
        BucketRule(bucket: "b", name: "r", pipeline: "logs-to-table", destination: "t", options: ["format": "text", "time_field": "ts"]),
        BucketRule(bucket: "b", name: "r", pipeline: "logs-to-table", destination: ""),
        BucketRule(bucket: "b", name: "r", pipeline: "logs-to-table", destination: "t", minSize: 10, maxSize: 5),
        BucketRule(bucket: "b", name: "r", pipeline: "logs-to-table", destination: "t", include: [""]),
    ])
    func invalidRulesAreNamed(_ rule: BucketRule) {
        #expect { try Pipeline.validated(rule) } throws: { ($0 as? BucketsError)?.kind == .invalidRule }
    }

    @Test func aValidRule() throws {
        let rule = BucketRule(bucket: "b", name: "r", pipeline: "logs-to-table", destination: "t",
                              options: ["format": "json", "time_field": "ts", "time_format": "epoch_ms", "compression": "gzip", "on_error": "reject"])
        #expect(try Pipeline.validated(rule) == .logsToTable)
    }
}
