// The ingestion engine: one consuming thread that polls Kafka, decodes records into the hot
// buffer (on all cores; logging the raw records to the transaction log), applies backpressure,
// and flushes: it seals the buffer and a committing queue writes Parquet data files + one
// Iceberg snapshot whose summary holds the Kafka offsets it contains (`k2i.offsets`, merged with
// the base snapshot's), behind the circuit breaker, while consumption goes on. Kafka group
// offsets are committed after the table commit, for lag monitoring only: on start and on every
// assignment k2i seeks to the offsets recorded in the table, so a crash at any point loses
// nothing and duplicates nothing. Maintenance runs on the consuming thread only while no commit
// runs, so it never races one.

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

public final class K2IEngine: @unchecked Sendable {
    // @unchecked: the mutable state below is touched only by the consuming thread, except
    // `status`, which is behind a lock, and `stopRequested`, an atomic. A running commit shares
    // only its `Commit` (locked) and the buffer (itself locked) with it.
    public let config: K2IConfig
    public let tables: IcebergTables
    public let identifier: IcebergTableIdentifier
    public let metrics = K2IMetrics()
    let log: K2ILog
    let clock: @Sendable () -> Int64
    let instance = UUID().uuidString.lowercased()

    public let stopRequested = Atomic<Bool>(false)
    /// `k2i ingest --exit-at-end`: stop (and drain, as on SIGTERM) once every assigned partition
    /// has been consumed up to its end, for bounded runs (backfills, benchmarks, tests).
    public var exitAtEnd = false
    /// The query languages of `/query` (set by the executable: frontends are named only by roots).
    public var queryFrontends = FrontendRegistry([])
    /// Held by a commit from the catalog swap to draining the buffer, and by a query while it
    /// takes the buffer's rows and the committed snapshot: a query sees each row once.
    let commitLock = NSLock()
    let committedCache: CommittedRows
    /// The latest status as JSON text (published by the consuming thread, read by HTTP).
    let statusLock = Mutex<String>("{}")
    let bufferRef = Mutex<HotBuffer?>(nil)
    /// Where commits run, one at a time, while the consuming thread goes on.
    let committer = DispatchQueue(label: "k2i.commit")
    var inflight: Commit?

    var buffer: HotBuffer?
    var decoder: RecordDecoder?
    var consumer: KafkaConsumer?
    var deadLetters: KafkaProducer?
    var rejectedFile: FileHandle?
    var txlog: TransactionLog?
    var breaker: CircuitBreaker
    var paused = false
    /// Set when `on_breaking_change = pause` stopped consumption at a record: what and where.
    /// Nothing at or after that record is buffered until a restart (which resumes there).
    var breakingChange: String?
    var assigned: [TopicPartition] = []
    var tableOffsets: [TopicPartition: Int64] = [:]
    /// Where each assigned partition started (real offsets only): a partition that got no
    /// records yet is at its end when this is its high watermark.
    var startOffsets: [TopicPartition: Int64] = [:]
    /// This run's first and last consumption and last commit (ms since the epoch), for `summary`.
    var firstConsumedMillis: Int64?
    var lastConsumedMillis: Int64?
    var lastCommitMillis: Int64?
    var pendingSamples: [KafkaMessage] = []
    var lastFlushMillis: Int64 = 0
    /// When the schema last grew (schema_evolution), and new fields skipped since (logged once).
    var lastSchemaUpdateMillis: Int64?
    var skippedNewFields: Set<String> = []
    var lastCommit: [String: Any] = [:]
    var lastCompactionMillis: Int64 = 0
    var lastMaintenanceMillis: Int64 = 0
    var catalogReachable = true

    public init(config: K2IConfig, tables: IcebergTables, log: K2ILog, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        self.config = config
        var tables = tables
        // validate() accepted only codec names ParquetCodec knows.
        tables.parquetOptions.codec = .init(name: config.string("iceberg.compression")) ?? .zstd
        self.tables = tables
        self.identifier = IcebergTableIdentifier(namespace: config.string("iceberg.database_name"), name: config.string("iceberg.table_name"))
        self.log = log
        self.clock = clock
        committedCache = CommittedRows(budgetBytes: Int(config.double("monitoring.query_max_scan_mb") * 1_048_576))
        breaker = CircuitBreaker(failureThreshold: config.int("circuit_breaker.failure_threshold"),
                                 cooldownMillis: Int64(config.double("circuit_breaker.cooldown_seconds") * 1000))
    }

    // MARK: - Running

    /// Consumes until `stopRequested`, then drains: a last flush, the group offsets, leaving
    /// the group. Blocks the calling thread (not a task's).
    public func run() throws(K2IError) {
        let now = clock()
        lastFlushMillis = now
        lastCompactionMillis = now
        lastMaintenanceMillis = now
        do {
            txlog = try TransactionLog(directory: config.string("transaction_log.log_dir"), name: "\(identifier.namespace).\(identifier.name)")
        }
        if let topic = config.optionalString("kafka.dead_letter_topic") {
            do { deadLetters = try KafkaProducer(["bootstrap.servers": config.string("kafka.bootstrap_servers"), "linger.ms": "5"]) } catch {
                throw .kafka("dead-letter producer for \(topic): \(error)")
            }
        }
        // The table's offsets are the truth; the transaction log refills the buffer beyond them.
        if (try? blocking { [tables, identifier] in try await tables.load(identifier) }) != nil {
            try openTable(schemaFrom: [])
        }
        try recoverTransactionLog()
        let consumer: KafkaConsumer
        do {
            consumer = try KafkaConsumer(config.consumerProperties, onAssign: { [unowned self] in self.assigning($0) },
                                         onRevoke: { [unowned self] in self.revoking($0) })
            try consumer.subscribe([config.string("kafka.topic")])
        } catch {
            throw .kafka("\(error)")
        }
        self.consumer = consumer
        log.info("k2i consuming", ["topic": config.string("kafka.topic"), "group": config.string("kafka.consumer_group"), "table": identifier.description])
        do throws(K2IError) {
            while !stopRequested.load(ordering: .relaxed) {
                let messages: [KafkaMessage]
                do { messages = try pollRound(consumer) } catch { throw .kafka("\(error)") }
                try take(messages)
                if exitAtEnd, messages.count < config.int("kafka.batch_size"), reachedEnd(consumer) {
                    log.info("every assigned partition is consumed to its end: draining (--exit-at-end)", ["partitions": String(assigned.count)])
                    stopRequested.store(true, ordering: .relaxed)
                }
                applyBackpressure(consumer)
                _ = finishCommit(wait: false)
                if inflight == nil, shouldFlush() { _ = startCommit() }
                if inflight == nil { runMaintenanceIfDue() }
                publishStatus()
            }
        } catch {
            // Stopped by an error: let a commit in flight land, leave the group (its callbacks
            // call into this engine), and report; what is buffered stays in the log and Kafka.
            _ = finishCommit(wait: true)
            close(consumer)
            throw error
        }
        // Drain: flush with retries while the breaker allows, up to 30 s.
        log.info("k2i stopping: flushing the buffer")
        _ = finishCommit(wait: true)
        if buffer == nil, !pendingSamples.isEmpty {
            // Fewer records than schema inference waits for: the table's schema comes from these.
            let samples = pendingSamples
            pendingSamples = []
            do throws(K2IError) {
                try openTable(schemaFrom: samples.map { Array($0.value) })
                try accept(samples)
            } catch {
                log.warn("the records held for schema inference were not taken (they are still in Kafka)", ["records": String(samples.count), "error": "\(error)"])
            }
        }
        let deadline = clock() + 30_000
        while !(buffer?.isEmpty() ?? true), clock() < deadline {
            if !flush(ignoreBreaker: true) { Thread.sleep(forTimeInterval: 0.5) }
        }
        let left = buffer?.rowCount ?? 0
        close(consumer)
        publishStatus(force: true)
        if !(buffer?.isEmpty() ?? true) {
            throw .iceberg("could not commit the last \(left) buffered rows before stopping (they are still in Kafka and the transaction log)")
        }
        if exitAtEnd, let breakingChange {
            // A bounded run cannot wait for the restart that `pause` asks for.
            throw .runtime("stopped at a \(breakingChange); what came before it is committed (--exit-at-end)")
        }
    }

    /// Whether every assigned partition is consumed up to the high watermark of its latest fetch
    /// (records taken, rejected or held for schema inference all count), or consumption is held
    /// at a breaking change: when `--exit-at-end` stops.
    func reachedEnd(_ consumer: KafkaConsumer) -> Bool {
        if breakingChange != nil { return true }
        guard !assigned.isEmpty else { return false }
        let next = buffer?.nextOffsets ?? [:]
        var held: [TopicPartition: Int64] = [:]
        for m in pendingSamples { held[m.topicPartition] = max(held[m.topicPartition] ?? 0, m.offset + 1) }
        for tp in assigned {
            guard let high = consumer.cachedHighWatermark(tp) else { return false }  // not fetched yet
            let position = [next[tp], tableOffsets[tp], startOffsets[tp], held[tp]].compactMap { $0 }.max() ?? -1
            if position < high { return false }
        }
        return true
    }

    /// What this run did, for the line `k2i ingest` logs as it exits: records consumed, rows
    /// committed, records rejected, and when (ms since the epoch) it first and last consumed and
    /// last committed.
    public var summary: [String: String] {
        var out = ["consumed": String(Int(metrics.value("k2i_messages_consumed_total"))),
                   "rows_committed": String(Int(metrics.value("k2i_rows_committed_total"))),
                   "rejected": String(Int(metrics.rejectedTotal()))]
        if let firstConsumedMillis { out["first_consumed_ms"] = String(firstConsumedMillis) }
        if let lastConsumedMillis { out["last_consumed_ms"] = String(lastConsumedMillis) }
        if let lastCommitMillis { out["last_commit_ms"] = String(lastCommitMillis) }
        return out
    }

    /// Leaves the consumer group. That waits for the coordinator; with Kafka gone it can take
    /// long, and nothing depends on it (the offsets are in the table): wait at most 10 s.
    func close(_ consumer: KafkaConsumer) {
        let closed = DispatchSemaphore(value: 0)
        Thread { consumer.close(); closed.signal() }.start()
        if closed.wait(timeout: .now() + 10) == .timedOut { log.warn("leaving the consumer group timed out; exiting anyway") }
        self.consumer = nil
    }

    /// Up to `kafka.batch_size` records: waits at most min(batch_timeout_ms, 200 ms) for the
    /// first, then takes what is already fetched without waiting (a trickle is buffered at once,
    /// a backlog in full rounds). The wait is in 10 ms steps, so a stop request is seen at once
    /// (the drain's commit does not wait out an idle poll).
    func pollRound(_ consumer: KafkaConsumer) throws(KafkaError) -> [KafkaMessage] {
        let limit = config.int("kafka.batch_size")
        let deadline = clock() + Int64(min(config.int("kafka.batch_timeout_ms"), 200))
        while true {
            let left = deadline - clock()
            let round = try consumer.poll(max: limit, timeoutMillis: Int32(max(0, min(left, 10))))
            if !round.isEmpty || left <= 0 || stopRequested.load(ordering: .relaxed) { return round }
        }
    }

    /// When the status JSON was last made (see K2IEngine+Endpoints.swift).
    var lastStatusMillis: Int64 = 0
}
