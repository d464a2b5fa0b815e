// The engine's HTTP side: status and metrics, queries over the committed table plus the hot
// buffer, and lookups of a committed record; and the cache of committed files' rows those
// queries read.

import Foundation
import KymaCatalog
import KymaCore
import KymaIceberg
import KymaExec
import KymaKafka
import KymaPlan
import KymaQueryService
import KymaTableSource
import Synchronization

extension K2IEngine {
    // MARK: - Status for the HTTP endpoints


    /// Metrics gauges and the /status JSON, at most four times a second (it is not free).
    func publishStatus(force: Bool = false) {
        let now = clock()
        guard force || now - lastStatusMillis >= 250 else { return }
        lastStatusMillis = now
        let rows = buffer?.rowCount ?? 0, bytes = buffer?.byteCount ?? 0
        metrics.set("k2i_buffer_rows", Double(rows))
        metrics.set("k2i_buffer_bytes", Double(bytes))
        metrics.set("k2i_breaker_state", breaker.state == .closed ? 0 : breaker.state == .halfOpen ? 1 : 2)
        metrics.set("k2i_assigned_partitions", Double(assigned.count))
        metrics.set("k2i_freshness_seconds", buffer?.oldestMillis.map { Double(now - $0) / 1000 } ?? 0)
        metrics.set("k2i_process_resident_bytes", Double(Self.residentBytes()))
        var partitions: [[String: Any]] = []
        let next = buffer?.nextOffsets ?? [:]
        for tp in assigned {
            let position = [next[tp], tableOffsets[tp]].compactMap({ $0 }).max()
            let high = consumer?.cachedHighWatermark(tp)
            let lag = high.map { max(0, $0 - (position ?? 0)) }
            if let lag { metrics.setLag(tp.description, Double(lag)) }
            partitions.append(["topic": tp.topic, "partition": tp.partition, "committed_offset": tableOffsets[tp] ?? -1,
                               "position": position ?? -1, "high_watermark": high ?? -1, "lag": lag ?? -1, "paused": paused])
        }
        let status: [String: Any] = [
            "state": stopRequested.load(ordering: .relaxed) ? "stopping" : breakingChange != nil ? "paused" : "running",
            "paused_reason": breakingChange ?? "",
            "table": identifier.description, "topic": config.string("kafka.topic"), "partitions": partitions,
            "buffer": ["rows": rows, "bytes": bytes, "oldest_age_ms": buffer?.oldestMillis.map { now - $0 } ?? 0],
            "last_commit": lastCommit, "breaker": ["state": breaker.state.rawValue, "consecutive_failures": breaker.consecutiveFailures, "trips": breaker.trips],
            "catalog_reachable": catalogReachable, "rejected": Int(metrics.rejectedTotal()),
            "consumed": Int(metrics.value("k2i_messages_consumed_total")), "committed_rows": Int(metrics.value("k2i_rows_committed_total")),
            "updated_ms": now,
        ]
        let text = (try? JSONText.string(status)) ?? "{}"
        statusLock.withLock { $0 = text }
    }

    public var statusJSON: String { statusLock.withLock { $0 } }

    /// The HTTP endpoints: /health, /healthz, /readyz, /metrics, /status, /query?kql=Q,
    /// /lookup?key=K[&committed=true].
    public func handle(method: String, path: String, query: [String: String]) -> HTTPReply {
        if path == "/metrics" { return HTTPReply(200, metrics.render(), contentType: "text/plain; version=0.0.4") }  // scraped often: no status parse
        let status = ((try? JSONSerialization.jsonObject(with: Data(statusJSON.utf8))) as? [String: Any]) ?? [:]
        let updated = (status["updated_ms"] as? NSNumber)?.int64Value ?? 0
        let alive = clock() - updated < 30_000 || updated == 0
        switch path {
        case "/healthz":
            return alive ? HTTPReply(200, "ok\n") : HTTPReply(503, "the consuming loop has not run for 30 s\n")
        case "/readyz":
            let partitions = (status["partitions"] as? [Any])?.count ?? 0
            let reachable = status["catalog_reachable"] as? Bool ?? false
            if let reason = status["paused_reason"] as? String, !reason.isEmpty { return HTTPReply(503, "not ready: paused at a \(reason)\n") }
            return partitions > 0 && reachable && alive ? HTTPReply(200, "ready\n")
                : HTTPReply(503, "not ready: \(partitions) partition(s) assigned, catalog \(reachable ? "reachable" : "unreachable")\n")
        case "/health":
            let breakerState = (status["breaker"] as? [String: Any])?["state"] as? String ?? "closed"
            let body = "{\"status\":\"\(alive && breakerState == "closed" ? "healthy" : "degraded")\",\"breaker\":\"\(breakerState)\"}\n"
            return HTTPReply(alive ? 200 : 503, body, contentType: "application/json")
        case "/metrics":
            return HTTPReply(200, metrics.render(), contentType: "text/plain; version=0.0.4")
        case "/status":
            return HTTPReply(200, statusJSON + "\n", contentType: "application/json")
        case "/query":
            if let text = query["kql"] { return runQuery(text, language: "kql") }
            if let text = query["sql"] { return runQuery(text, language: "sql") }
            guard let text = query["q"] else { return HTTPReply(400, "query needs ?kql=, ?sql= or ?q= (with &lang=)\n") }
            return runQuery(text, language: query["lang"])
        case "/lookup":
            guard let key = query["key"] else { return HTTPReply(400, "lookup needs ?key=\n") }
            // The buffer (O(1) by the key index); the committed files only when asked (a scan of
            // the files whose key bounds allow the key: too dear for polling until a key arrives).
            if let row = bufferRef.withLock({ $0 })?.lookup(key) { return Self.jsonReply(row) }
            guard query["committed"] == "true" else { return HTTPReply(404, "no row with key \(key) in the hot buffer (add &committed=true to search the committed files too)\n") }
            return lookupCommitted(key)
        default:
            return HTTPReply(404, "unknown path \(path)\n")
        }
    }

    /// A query over the committed rows and the hot buffer together, as JSON lines.
    func runQuery(_ text: String, language: String?) -> HTTPReply {
        guard !queryFrontends.frontends.isEmpty else { return HTTPReply(404, "no query language configured\n") }
        let nanos = clock() * 1_000_000
        let service: QueryService
        switch snapshotSources() {
        case .success(let sources): service = QueryService(frontends: queryFrontends, sources: sources)
        case .failure(let error): return Self.errorReply(error)
        }
        let request = QueryRequest(text: text, language: language, nowNanos: nanos)
        let outcome: Result<QueryOutcome, QueryError> = Result { () throws(QueryError) -> QueryOutcome in
            do { return try blocking { try await service.execute(request) } } catch { throw StorageErrors.queryError(error, doing: "running the query") }
        }
        switch outcome {
        case .failure(let error): return Self.errorReply(error)
        case .success(.explanation(let explanation)): return HTTPReply(200, explanation.text + "\n")
        case .success(.rows(let result, _)):
            let out = result.rows.map { row in Self.jsonReply(zip(result.names, row).map { ($0, $1) }).body }.joined()
            return HTTPReply(200, out, contentType: "application/x-ndjson")
        }
    }

    static func errorReply(_ error: QueryError) -> HTTPReply {
        HTTPReply(error.kind.httpStatus, "\(error)\n")
    }

    /// The table as one source over a consistent snapshot: the buffer's rows and the table's
    /// snapshot are taken together under `commitLock`, so a commit landing in between neither
    /// doubles nor drops rows. The snapshot's files are immutable: they are read after the lock
    /// is released, so a query never holds up a commit.
    func snapshotSources() -> Result<K2ITableSources, QueryError> {
        commitLock.lock()
        let hot = bufferRef.withLock { $0 }?.snapshot()
        let loaded = Result { try blocking { [tables, identifier] in try await tables.load(identifier) } }
        commitLock.unlock()
        let timeColumn = config.optionalString("kafka.format.timestamp_field")
        let name = identifier.name
        do {
            let table = try loaded.get()
            let files = try blocking { [tables] in try await tables.dataFiles(of: table) }
            let committed = IcebergFilesSource(table: name, timeColumn: timeColumn, tables: tables, snapshot: table, files: files, cache: committedCache,
                                               maxScanBytes: Int(config.double("monitoring.query_max_scan_mb") * 1_048_576), metrics: metrics)
            let buffered = try InMemoryTableSource(table: name, timeColumn: timeColumn, parts: [hot ?? []])
            let union = UnionTableSource(table: name, timeColumn: timeColumn,
                                         parts: [([IcebergFilesSource.format], committed), ([buffered.format], buffered)])
            return .success(K2ITableSources(names: [name, identifier.description.replacingOccurrences(of: ".", with: "_")], source: union))
        } catch let error as QueryError {
            return .failure(error)
        } catch {
            return .failure(.catalogUnavailable("loading the table's snapshot: \(error)"))
        }
    }

    /// `/lookup?key=K&committed=true` for a key the buffer no longer (or never) held: the last row
    /// with it in the committed files whose key bounds allow it (rows leave the buffer when they
    /// are committed).
    func lookupCommitted(_ key: String) -> HTTPReply {
        guard let keyField = config.optionalString("kafka.format.key_field") else { return HTTPReply(404, "no key field is configured\n") }
        let loaded = Result { try blocking { [tables, identifier] in try await tables.load(identifier) } }
        let literal: ScalarValue?
        switch (try? loaded.get())?.fields.first(where: { $0.name == keyField })?.type {
        case .string?: literal = .string(key)
        case .binary?: literal = .binary(Array(key.utf8))
        case .int64?: literal = Int64(key).map { .int64($0) }
        case .float64?: literal = Double(key).map { .float64($0) }
        case .bool?: literal = Bool(key).map { .bool($0) }
        default: literal = nil
        }
        guard let literal else { return HTTPReply(404, "no row with key \(key)\n") }
        let sources: K2ITableSources
        switch snapshotSources() {
        case .success(let found): sources = found
        case .failure(let error): return Self.errorReply(error)
        }
        // Only the committed files: the buffer was asked first.
        let committedOnly = K2ITableSources(names: sources.names, source: sources.source is UnionTableSource ? committedPart(sources) : sources.source)
        let service = QueryService(frontends: queryFrontends, sources: committedOnly)
        let plan = LogicalPlan(table: identifier.name, operators: [.filter(.compare(.equal, .column(keyField), .literal(literal)))])
        let nanos = clock() * 1_000_000
        let result: Result<QueryResult, QueryError> = Result { () throws(QueryError) -> QueryResult in
            do { return try blocking { try await service.run(plan, nowNanos: nanos).0 } } catch { throw StorageErrors.queryError(error, doing: "looking up the key") }
        }
        switch result {
        case .failure(let error): return Self.errorReply(error)
        case .success(let rows):
            guard let row = rows.rows.last else { return HTTPReply(404, "no row with key \(key) in the buffer or the committed table\n") }
            return Self.jsonReply(zip(rows.names, row).map { ($0, $1) })
        }
    }

    func committedPart(_ sources: K2ITableSources) -> any TableSource {
        guard let union = sources.source as? UnionTableSource else { return sources.source }
        return union.part(for: IcebergFilesSource.format) ?? union
    }

    static func jsonReply(_ row: [(String, ScalarValue)]) -> HTTPReply {
        var object: [String: Any] = [:]
        for (name, value) in row { object[name] = json(value) }
        return HTTPReply(200, ((try? JSONText.string(object)) ?? "{}") + "\n", contentType: "application/json")
    }

    static func json(_ value: ScalarValue) -> Any {
        switch value {
        case .null: NSNull()
        case .int64(let v): v
        case .float64(let v): v.isFinite ? v : NSNull()
        case .bool(let v): v
        case .string(let v): v
        case .timestamp(let v): ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(v) / 1e9))
        case .binary(let b): Data(b).base64EncodedString()
        }
    }

    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let parts = text.split(separator: " ")
        return parts.count > 1 ? (Int(parts[1]) ?? 0) * 4096 : 0
    }
}

/// Rows of committed data files kept for queries (files never change, so an entry is right as
/// long as it is kept), up to a budget of their Parquet bytes; the oldest entries go first.
final class CommittedRows: Sendable {
    struct State {
        var entries: [String: (batches: [ColumnBatch], bytes: Int)] = [:]
        var order: [String] = []
        var bytes = 0
    }
    let budget: Int
    let state = Mutex(State())

    init(budgetBytes: Int) { budget = budgetBytes }

    func get(_ path: String) -> [ColumnBatch]? { state.withLock { $0.entries[path]?.batches } }

    func put(_ path: String, _ batches: [ColumnBatch], bytes: Int) {
        state.withLock { s in
            guard s.entries[path] == nil, bytes <= budget else { return }
            s.entries[path] = (batches, bytes)
            s.order.append(path)
            s.bytes += bytes
            while s.bytes > budget, !s.order.isEmpty {
                let oldest = s.order.removeFirst()
                s.bytes -= s.entries.removeValue(forKey: oldest)?.bytes ?? 0
            }
        }
    }
}
