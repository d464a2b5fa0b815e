// The server's metrics in the Prometheus text format (0.0.4), rendered by `GET /metrics`:
// requests by route and status, request latency histograms by route, rows and bytes ingested,
// what queries read at each pruning level, cache hits, and the requests open right now.

import KymaQueryService
import Synchronization

public final class ServerMetrics: Sendable {
    static let latencyBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    struct Histogram {
        var buckets = [Double](repeating: 0, count: ServerMetrics.latencyBuckets.count)
        var sum = 0.0
        var count = 0.0
    }

    struct State {
        /// (route, method, status) -> count
        var requests: [String: Double] = [:]
        var latency: [String: Histogram] = [:]
        var counters: [String: Double] = [:]
        var openQueries = 0.0
        var openIngests = 0.0
    }

    private let state = Mutex(State())

    public init() {}

    func observe(route: String, method: String, status: Int, seconds: Double) {
        let key = "route=\"\(Self.escape(route))\",method=\"\(method)\",status=\"\(status)\""
        state.withLock { s in
            s.requests[key, default: 0] += 1
            var histogram = s.latency[route] ?? Histogram()
            for (i, bound) in Self.latencyBuckets.enumerated() where seconds <= bound { histogram.buckets[i] += 1 }
            histogram.sum += seconds
            histogram.count += 1
            s.latency[route] = histogram
        }
    }

    func add(_ name: String, _ value: Double) {
        state.withLock { $0.counters[name, default: 0] += value }
    }

    /// The pruning profile of one finished query: what each level kept and what was read.
    func observe(_ profile: QueryProfile) {
        state.withLock { s in
            s.counters["kyma_query_extents_total{level=\"catalog_in\"}", default: 0] += Double(profile.extentsTotal)
            s.counters["kyma_query_extents_total{level=\"after_catalog\"}", default: 0] += Double(profile.extentsAfterCatalog)
            s.counters["kyma_query_extents_total{level=\"after_footers\"}", default: 0] += Double(profile.extentsAfterFooters)
            s.counters["kyma_query_blocks_total{level=\"all\"}", default: 0] += Double(profile.blocksTotal)
            s.counters["kyma_query_blocks_total{level=\"after_stats\"}", default: 0] += Double(profile.blocksAfterStats)
            s.counters["kyma_query_blocks_total{level=\"after_bloom\"}", default: 0] += Double(profile.blocksAfterBloom)
            s.counters["kyma_query_blocks_total{level=\"after_index\"}", default: 0] += Double(profile.blocksAfterIndex)
            s.counters["kyma_query_blocks_total{level=\"read\"}", default: 0] += Double(profile.blocksRead)
            s.counters["kyma_query_bytes_read_total{level=\"footers\"}", default: 0] += Double(profile.footerBytesRead)
            s.counters["kyma_query_bytes_read_total{level=\"data\"}", default: 0] += Double(profile.dataBytesRead)
            s.counters["kyma_query_rows_total{stage=\"decoded\"}", default: 0] += Double(profile.rowsDecoded)
            s.counters["kyma_query_rows_total{stage=\"matched\"}", default: 0] += Double(profile.rowsMatched)
            s.counters["kyma_query_rows_total{stage=\"returned\"}", default: 0] += Double(profile.rowsReturned)
        }
    }

    func open(query delta: Double) { state.withLock { $0.openQueries += delta } }
    func open(ingest delta: Double) { state.withLock { $0.openIngests += delta } }

    /// Families in a fixed order, each with HELP and TYPE; `cache` gives the object cache's
    /// hits and misses when the node has a cache.
    func render(cache: (hits: Int, misses: Int)?) -> String {
        let s = state.withLock { $0 }
        var out = ""
        func number(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }
        func family(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }

        family("kyma_http_requests_total", "counter", "HTTP requests by route, method and status")
        for (labels, value) in s.requests.sorted(by: { $0.key < $1.key }) { out += "kyma_http_requests_total{\(labels)} \(number(value))\n" }
        family("kyma_http_request_duration_seconds", "histogram", "time from a request's head to its response's end, by route")
        for (route, h) in s.latency.sorted(by: { $0.key < $1.key }) {
            let label = "route=\"\(Self.escape(route))\""
            for (i, bound) in Self.latencyBuckets.enumerated() {
                out += "kyma_http_request_duration_seconds_bucket{\(label),le=\"\(bound)\"} \(number(h.buckets[i]))\n"
            }
            out += "kyma_http_request_duration_seconds_bucket{\(label),le=\"+Inf\"} \(number(h.count))\n"
            out += "kyma_http_request_duration_seconds_sum{\(label)} \(h.sum)\n"
            out += "kyma_http_request_duration_seconds_count{\(label)} \(number(h.count))\n"
        }
        let simple: [(String, String, String)] = [
            ("kyma_ingest_rows_total", "counter", "rows acknowledged by ingest routes (NDJSON, text, _bulk, OTLP)"),
            ("kyma_ingest_bytes_total", "counter", "request body bytes taken by ingest routes, after decompression"),
            ("kyma_ingest_rejected_lines_total", "counter", "lines or documents refused by ingest routes"),
        ]
        for (name, type, help) in simple {
            family(name, type, help)
            out += "\(name) \(number(s.counters[name] ?? 0))\n"
        }
        let labelled: [(String, String, [String])] = [
            ("kyma_query_extents_total", "extents at each level of the pruning cascade, summed over queries",
             ["level=\"catalog_in\"", "level=\"after_catalog\"", "level=\"after_footers\""]),
            ("kyma_query_blocks_total", "blocks at each level of the pruning cascade, summed over queries",
             ["level=\"all\"", "level=\"after_stats\"", "level=\"after_bloom\"", "level=\"after_index\"", "level=\"read\""]),
            ("kyma_query_bytes_read_total", "bytes queries read from the object store, footers and data apart",
             ["level=\"footers\"", "level=\"data\""]),
            ("kyma_query_rows_total", "rows decoded, matched and returned by queries",
             ["stage=\"decoded\"", "stage=\"matched\"", "stage=\"returned\""]),
        ]
        for (name, help, labels) in labelled {
            family(name, "counter", help)
            for label in labels { out += "\(name){\(label)} \(number(s.counters["\(name){\(label)}"] ?? 0))\n" }
        }
        family("kyma_cache_requests_total", "counter", "object cache lookups by result (absent when the node has no cache)")
        if let cache {
            out += "kyma_cache_requests_total{result=\"hit\"} \(cache.hits)\nkyma_cache_requests_total{result=\"miss\"} \(cache.misses)\n"
        }
        family("kyma_open_queries", "gauge", "queries running now")
        out += "kyma_open_queries \(number(s.openQueries))\n"
        family("kyma_open_ingests", "gauge", "ingest requests running now")
        out += "kyma_open_ingests \(number(s.openIngests))\n"
        return out
    }

    /// A label value with `\`, `"` and newlines escaped (the text format's rule).
    static func escape(_ value: String) -> String {
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
