// k2i's metrics in the Prometheus text format (version 0.0.4): counters, gauges (some per
// partition) and the commit-latency histogram. Updated by the engine as it works; rendered by
// `/metrics`.

import Synchronization

public final class K2IMetrics: Sendable {
    struct State {
        var counters: [String: Double] = [:]
        var gauges: [String: Double] = [:]
        var rejected: [String: Double] = [:]
        var lag: [String: Double] = [:]
        var latencyBuckets = [Double](repeating: 0, count: K2IMetrics.buckets.count)
        var latencySum = 0.0
        var latencyCount = 0.0
    }

    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
    static let help: [String: (String, String)] = [
        "k2i_messages_consumed_total": ("counter", "Kafka records consumed"),
        "k2i_bytes_consumed_total": ("counter", "bytes of Kafka record values consumed"),
        "k2i_rows_committed_total": ("counter", "rows committed to Iceberg"),
        "k2i_flushes_total": ("counter", "flushes that committed a snapshot"),
        "k2i_schema_updates_total": ("counter", "schema updates that added columns (schema_evolution)"),
        "k2i_commit_failures_total": ("counter", "commits that failed (retried later; nothing dropped)"),
        "k2i_breaker_trips_total": ("counter", "times the circuit breaker opened"),
        "k2i_maintenance_runs_total": ("counter", "maintenance tasks run"),
        "k2i_buffer_rows": ("gauge", "rows in the hot buffer"),
        "k2i_buffer_bytes": ("gauge", "bytes in the hot buffer"),
        "k2i_breaker_state": ("gauge", "circuit breaker: 0 closed, 1 half-open, 2 open"),
        "k2i_paused_partitions": ("gauge", "partitions paused by backpressure or an open breaker"),
        "k2i_assigned_partitions": ("gauge", "partitions assigned to this process"),
        "k2i_freshness_seconds": ("gauge", "age of the oldest buffered row (0 when empty)"),
        "k2i_last_commit_timestamp_seconds": ("gauge", "Unix time of the last successful commit"),
        "k2i_last_consumed_timestamp_seconds": ("gauge", "Unix time records were last consumed (a stalled consumer stops it)"),
        "k2i_process_resident_bytes": ("gauge", "resident memory of the process"),
    ]

    private let state = Mutex(State())

    public init() {}

    public func add(_ name: String, _ value: Double = 1) { state.withLock { $0.counters[name, default: 0] += value } }
    public func set(_ name: String, _ value: Double) { state.withLock { $0.gauges[name] = value } }
    public func rejected(reason: String) { state.withLock { $0.rejected[reason, default: 0] += 1 } }
    public func setLag(_ partition: String, _ value: Double) { state.withLock { $0.lag[partition] = value } }
    public func observeCommit(seconds: Double) {
        state.withLock { s in
            for (i, bound) in Self.buckets.enumerated() where seconds <= bound { s.latencyBuckets[i] += 1 }
            s.latencySum += seconds
            s.latencyCount += 1
        }
    }

    public func value(_ name: String) -> Double { state.withLock { $0.counters[name] ?? $0.gauges[name] ?? 0 } }
    public func rejectedTotal() -> Double { state.withLock { $0.rejected.values.reduce(0, +) } }

    /// The metrics in name order with their HELP and TYPE lines, made once (scrapes are
    /// frequent; sorting and formatting these each time was most of a scrape's cost).
    static let headed: [(name: String, head: String)] = help.keys.sorted().map { name in
        let (type, text) = help[name]!
        return (name, "# HELP \(name) \(text)\n# TYPE \(name) \(type)\n\(name) ")
    }

    public func render() -> String {
        let s = state.withLock { $0 }
        var out = ""
        out.reserveCapacity(4096 + 64 * s.lag.count)
        func number(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v) }
        for (name, head) in Self.headed {
            out += head
            out += number(s.counters[name] ?? s.gauges[name] ?? 0)
            out += "\n"
        }
        out += "# HELP k2i_records_rejected_total records rejected (dead-letter topic or rejected file), by reason\n# TYPE k2i_records_rejected_total counter\n"
        for reason in ["invalid_json", "wrong_type", "oversized", "missing_key"] {
            out += "k2i_records_rejected_total{reason=\"\(reason)\"} \(number(s.rejected[reason] ?? 0))\n"
        }
        out += "# HELP k2i_consumer_lag records between the committed position and the partition's high watermark\n# TYPE k2i_consumer_lag gauge\n"
        for (partition, lag) in s.lag.sorted(by: { $0.key < $1.key }) {
            let parts = partition.split(separator: ":", maxSplits: 1)
            out += "k2i_consumer_lag{topic=\"\(parts.first ?? "")\",partition=\"\(parts.count > 1 ? String(parts[1]) : "")\"} \(number(lag))\n"
        }
        out += "# HELP k2i_commit_latency_seconds time of an Iceberg commit (data files + metadata + catalog)\n# TYPE k2i_commit_latency_seconds histogram\n"
        for (i, bound) in Self.buckets.enumerated() { out += "k2i_commit_latency_seconds_bucket{le=\"\(bound)\"} \(number(s.latencyBuckets[i]))\n" }
        out += "k2i_commit_latency_seconds_bucket{le=\"+Inf\"} \(number(s.latencyCount))\n"
        out += "k2i_commit_latency_seconds_sum \(s.latencySum)\nk2i_commit_latency_seconds_count \(number(s.latencyCount))\n"
        return out
    }
}
