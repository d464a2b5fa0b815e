// The engine's output side: rebalances (start offsets from the table), backpressure, flushing
// the sealed buffer into one Iceberg commit behind the circuit breaker, maintenance between
// commits, starting over, and the Kafka offsets kept in snapshot summaries.

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
    // MARK: - Rebalances

    /// Start offsets for newly assigned partitions: past what the table holds and what the
    /// buffer already has.
    func assigning(_ partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        if let table = try? blocking({ [tables, identifier] in try await tables.load(identifier) }) {
            tableOffsets = Self.offsets(table.currentSummary)
            catalogReachable = true
        }
        var starts: [TopicPartition: Int64] = [:]
        for tp in partitions {
            let start = max(tableOffsets[tp] ?? -1, buffer?.nextOffsets[tp] ?? -1)
            // A partition the table knows nothing of starts where auto_offset_reset says, never at
            // the group's committed offset: those are for lag monitoring, and after a
            // `table reset` they would skip records the table no longer has.
            starts[tp] = start >= 0 ? start : resetOffset(tp)
            if let offset = starts[tp], offset >= 0 { startOffsets[tp] = offset }
        }
        assigned = Array(Set(assigned).union(partitions)).sorted()
        paused = false
        log.info("partitions assigned", ["partitions": partitions.map(\.description).joined(separator: ","),
                                         "starts": starts.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }.joined(separator: ",")])
        return starts
    }

    /// Where `auto_offset_reset` starts a partition: its low or high watermark, asked of the
    /// broker here. (Given the logical offset instead, librdkafka resolved some partitions half
    /// a second after the others, holding back their records.) The logical offset when the
    /// broker does not answer.
    func resetOffset(_ tp: TopicPartition) -> Int64 {
        let latest = config.string("kafka.auto_offset_reset") == "latest"
        guard let marks = try? consumer?.watermarks(tp, timeoutMillis: 2000) else { return latest ? KafkaConsumer.end : KafkaConsumer.beginning }
        return latest ? marks.high : marks.low
    }

    /// Before partitions go to another consumer: commit what the buffer holds.
    func revoking(_ partitions: [TopicPartition]) {
        log.info("partitions revoked", ["partitions": partitions.map(\.description).joined(separator: ",")])
        if !(buffer?.isEmpty() ?? true) {
            for _ in 0..<5 where !flush(ignoreBreaker: true) { Thread.sleep(forTimeInterval: 0.2) }
        }
        assigned.removeAll { partitions.contains($0) }
    }

    // MARK: - Backpressure and flushing

    func applyBackpressure(_ consumer: KafkaConsumer) {
        let limit = Double(config.int("buffer.memory_limit_mb") << 20)
        let bytes = Double(buffer?.byteCount ?? 0)
        let high = limit * Double(config.int("buffer.high_watermark_percent")) / 100
        let low = limit * Double(config.int("buffer.low_watermark_percent")) / 100
        let breakerOpen = breaker.state != .closed && !(buffer?.isEmpty() ?? true)
        if breakingChange != nil {
            // Held until a restart, whatever the buffer does.
            if !paused { consumer.pause(assigned) }
            paused = true
        } else if !paused, bytes >= high || breakerOpen {
            consumer.pause(assigned)
            paused = true
            log.warn("paused consumption", ["buffer_bytes": String(Int(bytes)), "breaker": breaker.state.rawValue])
        } else if paused, bytes < low, !breakerOpen {
            consumer.resume(assigned)
            // Pausing drops librdkafka's prefetched records and resuming continues from its fetch
            // position: seek back to the next record this process has not taken yet.
            for tp in assigned {
                if let next = [buffer?.nextOffsets[tp], tableOffsets[tp]].compactMap({ $0 }).max() { try? consumer.seek(tp, to: next) }
            }
            paused = false
            log.info("resumed consumption", ["buffer_bytes": String(Int(bytes))])
        }
        metrics.set("k2i_paused_partitions", paused ? Double(assigned.count) : 0)
    }

    func shouldFlush() -> Bool {
        guard let buffer, !buffer.isEmpty() else { return false }
        let now = clock()
        if buffer.rowCount >= config.int("buffer.flush_batch_size") { return true }
        if buffer.byteCount >= config.int("buffer.max_size_mb") << 20 { return true }
        if let oldest = buffer.oldestMillis, now - oldest >= Int64(config.int("buffer.ttl_seconds")) * 1000 { return true }
        if now - lastFlushMillis >= Int64(config.int("buffer.flush_interval_seconds")) * 1000 { return true }
        // Rejected-only offsets are worth committing too, but not more often than the interval.
        return false
    }

    /// A commit of sealed rows running on the committing queue; the consuming thread finishes it.
    final class Commit: Sendable {
        let sealed: SealedRows
        let started = Date()
        /// Set by the committing queue when it is done: the snapshot id or the error, and when it
        /// ended (by the clock and the engine's clock; the consuming thread may notice later).
        let outcome = Mutex<(result: Result<Int64, any Error>, ended: Date, endedMillis: Int64)?>(nil)
        let finished = DispatchSemaphore(value: 0)

        init(_ sealed: SealedRows) { self.sealed = sealed }
    }

    /// Commits everything buffered now and waits for it (and for a commit already running).
    /// Returns whether it was committed.
    @discardableResult
    func flush(ignoreBreaker: Bool = false) -> Bool {
        _ = finishCommit(wait: true)
        guard let buffer, !buffer.isEmpty() else { return true }
        guard startCommit(ignoreBreaker: ignoreBreaker) else { return false }
        return finishCommit(wait: true) ?? false
    }

    /// Seals the buffer and starts committing it (Parquet data files + one snapshot) on the
    /// committing queue, so consumption goes on meanwhile. One commit runs at a time; its rows
    /// stay visible in the buffer until the catalog swap, which drops them under `commitLock`.
    /// Returns whether a commit started.
    func startCommit(ignoreBreaker: Bool = false) -> Bool {
        guard inflight == nil, let buffer, !buffer.isEmpty() else { return false }
        let now = clock()
        guard ignoreBreaker || breaker.allow(nowMillis: now) else { return false }
        // Rejected records must be safe before the offsets move past them.
        do {
            if let producer = deadLetters { try producer.flush(timeoutMillis: 10_000) }
            try rejectedFile?.synchronize()
        } catch {
            log.error("dead letters not delivered; not committing", ["error": "\(error)"])
            breaker.recordFailure(nowMillis: now)
            return false
        }
        let sealed = buffer.seal()
        do { try txlog?.seal() } catch { log.warn("transaction log", ["error": "\(error)"]) }  // a cache: commit anyway
        log.info("commit started", ["rows": String(sealed.rowCount)])
        let commit = Commit(sealed)
        inflight = commit
        // Test hook (harness/k2i-checks): widen the window between writing data files and the
        // catalog swap, so a SIGKILL lands inside a commit.
        let faultDelay = Double(ProcessInfo.processInfo.environment["K2I_FAULT_COMMIT_DELAY_MS"] ?? "") ?? 0
        let parse = Self.offsets
        let render = Self.render
        committer.async { [tables, identifier, clock, commitLock, instance] in
            commitLock.lock()
            let outcome = Result<Int64, any Error> {
                try blocking {
                    try await tables.append(identifier, batches: sealed.batches, nowMillis: clock()) { base throws(IcebergError) in
                        if faultDelay > 0 { usleep(UInt32(faultDelay * 1000)) }
                        var merged = parse(base.currentSummary)
                        for (tp, range) in sealed.offsets {
                            if let done = merged[tp], done > range.first {
                                throw .conflict("offsets of \(tp) are already committed up to \(done), this buffer starts at \(range.first)")
                            }
                            merged[tp] = range.next
                        }
                        return ["k2i.offsets": render(merged), "k2i.writer": instance]
                    }
                }
            }
            if case .success = outcome { buffer.dropSealed() }
            commitLock.unlock()
            commit.outcome.withLock { [clock] in $0 = (outcome, Date(), clock()) }
            commit.finished.signal()
        }
        return true
    }

    /// Finishes the running commit's bookkeeping on the consuming thread: nil when none
    /// finished (or none runs), else whether it committed.
    func finishCommit(wait: Bool) -> Bool? {
        guard let commit = inflight else { return nil }
        if wait { commit.finished.wait() } else if commit.finished.wait(timeout: .now()) == .timedOut { return nil }
        inflight = nil
        let sealed = commit.sealed
        guard let (result, ended, endedMillis) = commit.outcome.withLock({ $0 }) else { return false }
        switch result {
        case .success(let snapshotID):
            let seconds = ended.timeIntervalSince(commit.started)
            breaker.recordSuccess()
            catalogReachable = true
            txlog?.dropSealed()
            for (tp, range) in sealed.offsets { tableOffsets[tp] = max(tableOffsets[tp] ?? 0, range.next) }
            lastFlushMillis = clock()
            lastCommitMillis = endedMillis
            metrics.add("k2i_flushes_total")
            metrics.add("k2i_rows_committed_total", Double(sealed.rowCount))
            metrics.observeCommit(seconds: seconds)
            metrics.set("k2i_last_commit_timestamp_seconds", Double(endedMillis) / 1000)
            lastCommit = ["snapshot_id": snapshotID, "rows": sealed.rowCount, "latency_ms": Int(seconds * 1000), "at_ms": endedMillis]
            log.info("committed", ["snapshot": String(snapshotID), "rows": String(sealed.rowCount), "ms": String(Int(seconds * 1000))])
            // Group offsets after the table commit: for lag monitoring only, so not waited for
            // (a synchronous commit stalled consumption for up to half a second); in the drain
            // they are, so the group shows no lag once k2i has stopped.
            // Only for partitions this member holds: offsets recovered from the transaction log
            // are committed before the consumer has joined its group, and a commit from a
            // consumer that is not yet a member kept the mock cluster from ever assigning it.
            let held = sealed.offsets.filter { assigned.contains($0.key) }.mapValues(\.next)
            if !held.isEmpty { try? consumer?.commit(held, wait: stopRequested.load(ordering: .relaxed)) }
            return true
        case .failure(let error as IcebergError):
            if case .conflict(let reason) = error, reason.contains("already committed") {
                // Another writer committed these offsets: drop ours and continue after theirs.
                log.warn("offsets already committed by another writer: dropping the buffer and seeking past them", ["reason": reason])
                buffer?.drain()
                try? txlog?.truncate()
                if let table = try? blocking({ [tables, identifier] in try await tables.load(identifier) }) { tableOffsets = Self.offsets(table.currentSummary) }
                for tp in assigned { if let next = tableOffsets[tp] { try? consumer?.seek(tp, to: next) } }
                return true
            }
            return failed(error, now: clock())
        case .failure(let error):
            return failed(error, now: clock())
        }
    }

    func failed(_ error: any Error, now: Int64) -> Bool {
        let before = breaker.trips
        breaker.recordFailure(nowMillis: now)
        if breaker.trips > before { metrics.add("k2i_breaker_trips_total") }
        catalogReachable = false
        metrics.add("k2i_commit_failures_total")
        log.error("commit failed; rows stay buffered", ["error": "\(error)", "breaker": breaker.state.rawValue])
        return false
    }

    // MARK: - Maintenance

    func runMaintenanceIfDue() {
        let now = clock()
        if config.bool("maintenance.compaction_enabled"), now - lastCompactionMillis >= Int64(config.int("maintenance.compaction_interval_seconds")) * 1000 {
            lastCompactionMillis = now
            _ = try? runMaintenance("compact", dryRun: false)
        }
        if now - lastMaintenanceMillis >= Int64(config.int("maintenance.interval_seconds")) * 1000 {
            lastMaintenanceMillis = now
            if config.bool("maintenance.snapshot_expiration_enabled") { _ = try? runMaintenance("expire-snapshots", dryRun: false) }
            if config.bool("maintenance.orphan_cleanup_enabled") { _ = try? runMaintenance("clean-orphans", dryRun: false) }
        }
    }

    /// One maintenance task now; the lines it would print.
    public func runMaintenance(_ task: String, dryRun: Bool) throws(K2IError) -> [String] {
        let now = clock()
        var resized = tables
        resized.targetFileBytes = config.int("maintenance.compaction_target_mb") << 20
        let compacting = resized
        let retention = Int64(config.double("maintenance.snapshot_retention_days") * 86_400_000)
        let orphanAge = Int64(config.double("maintenance.orphan_retention_days") * 86_400_000)
        let keepLast = config.int("maintenance.snapshot_keep_last")
        let identifier = self.identifier
        do {
            let lines: [String] = try blocking { () async throws -> [String] in
                switch task {
                case "compact":
                    let r = try await compacting.compact(identifier, nowMillis: now, dryRun: dryRun)
                    return ["\(dryRun ? "would rewrite" : "rewrote") \(r.rewrittenFiles.count) file(s) in \(r.partitions.count) partition(s)" +
                            (dryRun ? "" : " into \(r.addedFiles.count) file(s)")] + r.rewrittenFiles.map { "  " + $0 }
                case "expire-snapshots":
                    let r = try await compacting.expireSnapshots(identifier, olderThanMillis: now - retention, keepLast: keepLast, nowMillis: now, dryRun: dryRun)
                    return ["\(dryRun ? "would expire" : "expired") \(r.expiredSnapshots.count) snapshot(s), \(dryRun ? "would delete" : "deleted") \(r.files.count) file(s)"] + r.files.map { "  " + $0 }
                default:
                    let r = try await compacting.cleanupOrphans(identifier, olderThanMillis: now - orphanAge, dryRun: dryRun)
                    return ["\(dryRun ? "would delete" : "deleted") \(r.files.count) orphan file(s)"] + r.files.map { "  " + $0 }
                }
            }
            metrics.add("k2i_maintenance_runs_total")
            log.info("maintenance", ["task": task, "result": lines.first ?? ""])
            return lines
        } catch {
            log.warn("maintenance failed", ["task": task, "error": "\(error)"])
            throw .iceberg("\(task): \(error)")
        }
    }

    // MARK: - Starting over

    /// `k2i table reset` (the original k2i's command): for when the topic started over (a new
    /// cluster, a recreated topic) and the offsets the table records no longer mean anything;
    /// without it, records below those offsets would be taken for committed ones and skipped.
    /// `keepData`: one snapshot that adds nothing and records no offsets, so the next `ingest`
    /// starts where `auto_offset_reset` says; otherwise the table is dropped from the catalog (its
    /// files stay where they are, orphans for maintenance) and the next `ingest` creates it anew.
    /// The local transaction log is emptied either way. Not while an `ingest` runs on the table
    /// (the caller checks its health port first).
    public func resetTable(keepData: Bool) throws(K2IError) -> [String] {
        let identifier = self.identifier
        let now = clock()
        var lines: [String] = []
        do {
            if keepData {
                let snapshot = try blocking { [tables] in
                    try await tables.append(identifier, batches: [], summary: ["k2i.offsets": "{}", "k2i.reset": "true"], nowMillis: now)
                }
                lines.append("\(identifier): snapshot \(snapshot) records no Kafka offsets; the rows stay")
            } else {
                let location = try blocking { [tables] in try await tables.load(identifier).location }
                try blocking { [tables] in try await tables.drop(identifier) }
                lines.append("\(identifier): dropped from the catalog; its files under \(location) are orphans now")
            }
        } catch {
            throw .iceberg("table reset of \(identifier): \(error)")
        }
        let txlog = try TransactionLog(directory: config.string("transaction_log.log_dir"), name: "\(identifier.namespace).\(identifier.name)")
        let dropped = try txlog.recover().count
        try txlog.truncate()
        lines.append("transaction log \(txlog.path): \(dropped) buffered record(s) dropped")
        log.info("table reset", ["table": identifier.description, "keep_data": String(keepData)])
        return lines
    }

    // MARK: - Offsets in snapshot summaries

    /// `k2i.offsets`: {"topic:partition": next offset} as JSON.
    static func offsets(_ summary: [String: String]) -> [TopicPartition: Int64] {
        guard let text = summary["k2i.offsets"], let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return [:] }
        var out: [TopicPartition: Int64] = [:]
        for (key, value) in object {
            guard let colon = key.lastIndex(of: ":"), let partition = Int32(key[key.index(after: colon)...]), let next = (value as? NSNumber)?.int64Value else { continue }
            out[TopicPartition(String(key[..<colon]), partition)] = next
        }
        return out
    }

    static func render(_ offsets: [TopicPartition: Int64]) -> String {
        let object = Dictionary(uniqueKeysWithValues: offsets.map { ("\($0.key.topic):\($0.key.partition)", NSNumber(value: $0.value)) })
        return (try? JSONText.string(object)) ?? "{}"
    }
}
