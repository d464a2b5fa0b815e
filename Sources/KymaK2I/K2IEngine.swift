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
    private let commitLock = NSLock()
    private let committedCache: CommittedRows
    /// The latest status as JSON text (published by the consuming thread, read by HTTP).
    private let statusLock = Mutex<String>("{}")
    private let bufferRef = Mutex<HotBuffer?>(nil)
    /// Where commits run, one at a time, while the consuming thread goes on.
    private let committer = DispatchQueue(label: "k2i.commit")
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

    // MARK: - Records into the buffer

    func take(_ messages: [KafkaMessage]) throws(K2IError) {
        // Paused at a breaking change: records fetched before the pause took effect are not
        // taken (nor logged); the restart reads them again from the table's offsets.
        guard !messages.isEmpty, breakingChange == nil else { return }
        let fresh = unseen(messages)
        if buffer == nil {
            // The schema comes from the first records: hold them until there are enough.
            pendingSamples += fresh
            guard pendingSamples.count >= config.int("kafka.format.infer_from_records") || !config.schema.isEmpty || recordFormat == .raw else { return }
            let samples = pendingSamples
            pendingSamples = []
            try openTable(schemaFrom: samples.map { Array($0.value) })
            try accept(samples)
            return
        }
        try accept(fresh)
    }

    /// The records not below what the buffer or the table already holds (those were read twice:
    /// a seek back after a pause or rebalance). The buffer's offsets are copied once, and the
    /// floor is looked up once per run of records from one partition (a round comes in such
    /// runs); a round with nothing to drop is returned as it is (no record copied).
    func unseen(_ messages: [KafkaMessage]) -> [KafkaMessage] {
        let next = buffer?.nextOffsets ?? [:]
        var run: (topic: String, partition: Int32, floor: Int64)? = nil
        func isSeen(_ m: KafkaMessage) -> Bool {
            if let current = run, current.partition == m.partition, current.topic == m.topic { return m.offset < current.floor }
            let tp = m.topicPartition
            let floor = max(next[tp] ?? 0, tableOffsets[tp] ?? 0)
            run = (m.topic, m.partition, floor)
            return m.offset < floor
        }
        guard messages.contains(where: isSeen) else { return messages }
        run = nil
        return messages.filter { !isSeen($0) }
    }

    func accept(_ fresh: [KafkaMessage]) throws(K2IError) {
        guard !fresh.isEmpty else { return }
        let now = clock()
        if firstConsumedMillis == nil { firstConsumedMillis = now }
        lastConsumedMillis = now
        metrics.set("k2i_last_consumed_timestamp_seconds", Double(now) / 1000)
        metrics.add("k2i_messages_consumed_total", Double(fresh.count))
        metrics.add("k2i_bytes_consumed_total", Double(fresh.reduce(0) { $0 + $1.value.count }))
        try txlog?.append(fresh)
        try insert(fresh)
    }

    func insert(_ messages: [KafkaMessage]) throws(K2IError) {
        guard let buffer, let decoder else { return }
        let now = clock()
        // Decoding (JSON parsing) is the expensive part: chunks are decoded into columns on all
        // cores, then rejected records are reported and the chunks appended in order here.
        let ranges = Self.chunks(messages.count)
        var results = Self.decodeAll(messages, ranges, decoder)
        let found = results.reduce(into: [String: DataType]()) { all, part in
            for (name, type) in part.newFields { all[name] = RecordDecoder.wider(all[name], type) }
        }
        if !found.isEmpty, evolveSchema(found), let wider = self.decoder {
            // The round again with the new columns, so its records keep the new values.
            results = Self.decodeAll(messages, ranges, wider)
        }
        if config.string("schema_evolution.on_breaking_change") == "pause", let (index, rejection) = Self.firstBreaking(results, ranges) {
            // The records before it go in as usual; from it on nothing does.
            pauseAtBreakingChange(messages[index], rejection)
            if index > 0 { try insert(Array(messages[..<index])) }
            return
        }
        for (range, decoded) in zip(ranges, results) {
            for (k, rejection) in decoded.rejections.enumerated() {
                if let rejection { try reject(messages[range.lowerBound + k], rejection) }
            }
            buffer.append(decoded, records: messages[range], nowMillis: now)
        }
    }

    /// The first record, in order, whose value has another type than its column.
    static func firstBreaking(_ results: [DecodedRecords], _ ranges: [Range<Int>]) -> (Int, Rejection)? {
        for (range, decoded) in zip(ranges, results) {
            for (k, rejection) in decoded.rejections.enumerated() {
                if case .wrongType? = rejection { return (range.lowerBound + k, rejection!) }
            }
        }
        return nil
    }

    /// `schema_evolution.on_breaking_change = pause` (the original k2i's default): consumption
    /// stops at the record; what was buffered before it is still committed; the process stays up,
    /// not ready, saying why, until it is restarted (after the table or the producer was fixed),
    /// when it starts at that record again.
    func pauseAtBreakingChange(_ m: KafkaMessage, _ rejection: Rejection) {
        let reason = "breaking schema change at \(m.topicPartition.description) offset \(m.offset): \(rejection.description)"
        breakingChange = reason
        metrics.set("k2i_breaking_change_paused", 1)
        log.error("consumption paused (schema_evolution.on_breaking_change = pause); fix the table or the producer, then restart k2i: it resumes at this record",
                  ["partition": m.topicPartition.description, "offset": String(m.offset), "reason": rejection.description])
    }

    /// Read once: Foundation reads the cgroup's CPU quota from files on every call.
    static let processors = ProcessInfo.processInfo.activeProcessorCount

    static func chunks(_ count: Int) -> [Range<Int>] {
        guard count >= 256 else { return [0..<count] }
        let n = min(8, processors * 2)
        let size = (count + n - 1) / n
        return stride(from: 0, to: count, by: size).map { $0..<min(count, $0 + size) }
    }

    /// Each range of `messages` decoded, on all cores.
    static func decodeAll(_ messages: [KafkaMessage], _ ranges: [Range<Int>], _ decoder: RecordDecoder) -> [DecodedRecords] {
        guard ranges.count > 1 else { return ranges.map { decoder.decode(records: messages[$0]) } }
        let results = Mutex<[DecodedRecords?]>(Array(repeating: nil, count: ranges.count))
        DispatchQueue.concurrentPerform(iterations: ranges.count) { chunk in
            let part = decoder.decode(records: messages[ranges[chunk]])
            results.withLock { $0[chunk] = part }
        }
        return results.withLock { $0.map { $0! } }
    }

    /// Schema evolution (auto-additive): adds `found` (fields no column names) to the table as
    /// optional columns, then widens the buffer and the decoder to the table's schema. Returns
    /// false when it may not update yet (`schema_update_min_interval_seconds`) or the update
    /// failed; those fields are skipped in this round's records.
    func evolveSchema(_ found: [String: DataType]) -> Bool {
        let now = clock()
        if let last = lastSchemaUpdateMillis, now - last < Int64(config.int("schema_evolution.schema_update_min_interval_seconds")) * 1000 {
            let fresh = Set(found.keys).subtracting(skippedNewFields)
            if !fresh.isEmpty {
                skippedNewFields.formUnion(fresh)
                log.warn("new fields skipped until the next schema update is allowed", ["fields": fresh.sorted().joined(separator: ","),
                                                                                        "interval_seconds": String(config.int("schema_evolution.schema_update_min_interval_seconds"))])
            }
            return false
        }
        let table: IcebergTable
        do {
            table = try blocking { [tables, identifier, clock] () async throws -> IcebergTable in
                var table = try await tables.load(identifier)
                for (name, type) in found.sorted(by: { $0.key < $1.key }) where !table.fields.contains(where: { $0.name == name }) {
                    do {
                        table = try await tables.addColumn(identifier, name: name, type: type, nowMillis: clock())
                    } catch let error as IcebergError {
                        // Another writer added it meanwhile: take the table as it is now.
                        guard case .invalid(let reason) = error, reason.contains("already exists") else { throw error }
                        table = try await tables.load(identifier)
                    }
                }
                return table
            }
        } catch {
            // The catalog is out, say: the records go in without the new fields, and the next
            // records that bring them try again (the breaker governs the data commits).
            log.warn("could not add columns; skipping them in these records", ["fields": found.keys.sorted().joined(separator: ","), "error": "\(error)"])
            return false
        }
        let fields = table.fields.map { (name: $0.name, type: $0.type) }
        guard buffer?.extend(to: fields) ?? false else {
            // Someone changed the table's columns in another way (renamed, dropped, retyped):
            // buffered rows no longer line up with it, so do not decode into it.
            log.error("the table's columns no longer extend the buffer's; new fields stay skipped", ["table": identifier.description,
                                                                                                   "columns": fields.map(\.name).joined(separator: ",")])
            lastSchemaUpdateMillis = now
            return false
        }
        lastSchemaUpdateMillis = now
        skippedNewFields = []
        decoder = makeDecoder(fields)
        metrics.add("k2i_schema_updates_total", 1)
        log.info("schema evolved", ["table": identifier.description, "added": found.sorted(by: { $0.key < $1.key }).map { "\($0.key):\($0.value.rawValue)" }.joined(separator: ",")])
        return true
    }

    func makeDecoder(_ fields: [(name: String, type: DataType)]) -> RecordDecoder {
        var decoder = RecordDecoder(fields: fields, keyField: config.optionalString("kafka.format.key_field"), timestampField: config.optionalString("kafka.format.timestamp_field"),
                                    maxBytes: config.int("kafka.format.max_record_bytes"))
        decoder.format = recordFormat
        decoder.discoversFields = config.string("schema_evolution.mode") == "auto-additive" && recordFormat == .json
        return decoder
    }

    var recordFormat: RecordFormat { RecordFormat(rawValue: config.string("kafka.format.type")) ?? .json }

    /// A record that cannot be a row goes to the dead-letter topic or the rejected file, with
    /// its reason; it is counted and its offset still advances. With
    /// `schema_evolution.on_breaking_change = fail`, a value of another type stops k2i instead.
    func reject(_ m: KafkaMessage, _ rejection: Rejection) throws(K2IError) {
        if case .wrongType = rejection, config.string("schema_evolution.on_breaking_change") == "fail" {
            throw .runtime("breaking schema change at \(m.topicPartition.description) offset \(m.offset): \(rejection.description) (schema_evolution.on_breaking_change = fail)")
        }
        metrics.rejected(reason: rejection.reason)
        log.warn("rejected record", ["partition": m.topicPartition.description, "offset": String(m.offset), "reason": rejection.description])
        if let producer = deadLetters, let topic = config.optionalString("kafka.dead_letter_topic") {
            var envelope: [String: Any] = ["reason": rejection.description, "topic": m.topic, "partition": m.partition, "offset": m.offset]
            envelope["value_base64"] = Data(m.value).base64EncodedString()
            let bytes = (try? JSONText.encode(envelope)) ?? []
            do { try producer.send(topic: topic, key: m.key.map { Array($0) }, value: bytes) } catch { throw .kafka("dead-letter topic \(topic): \(error)") }
            return
        }
        if rejectedFile == nil {
            let path = config.string("kafka.rejected_file")
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            guard let handle = FileHandle(forWritingAtPath: path) else { throw .storage("cannot open the rejected-records file \(path)") }
            _ = try? handle.seekToEnd()
            rejectedFile = handle
        }
        let line: [String: Any] = ["reason": rejection.description, "topic": m.topic, "partition": m.partition, "offset": m.offset,
                                   "value": String(decoding: m.value, as: UTF8.self)]
        let data = Data(((try? JSONText.encode(line)) ?? []) + [UInt8(ascii: "\n")])
        do { try rejectedFile?.write(contentsOf: data) } catch { throw .storage("writing rejected records: \(error)") }
    }

    /// Loads the table, or creates it (schema from config or the samples, partition spec from
    /// config), and sets up the buffer in its schema.
    func openTable(schemaFrom samples: [[UInt8]]) throws(K2IError) {
        let timestampField = config.optionalString("kafka.format.timestamp_field")
        let table: IcebergTable
        do {
            table = try blocking { [tables, identifier] in try await tables.load(identifier) }
        } catch let error as IcebergError {
            guard case .tableNotFound = error else { throw .iceberg("\(error)") }
            var fields: [(name: String, type: DataType)] = config.schema.compactMap { name, type in
                IcebergField.dataType(iceberg: type).map { (name, $0) }
            }
            if recordFormat == .raw { fields = RecordDecoder.rawFields }
            if fields.isEmpty { fields = RecordDecoder.infer(samples, timestampField: timestampField) }
            guard !fields.isEmpty else { throw .config("no schema: set [kafka.format.schema] or send JSON object records") }
            let icebergFields = fields.enumerated().map { IcebergField(id: $0 + 1, name: $1.name, type: $1.type) }
            var spec: [IcebergPartitionField] = []
            for (index, p) in config.partitionSpec.enumerated() {
                guard let source = icebergFields.first(where: { $0.name == p.sourceField }), let transform = IcebergTransform.parse(p.transform.lowercased()) else {
                    throw .config("iceberg.partition_spec: no field '\(p.sourceField)' in the schema or bad transform '\(p.transform)'")
                }
                spec.append(IcebergPartitionField(sourceID: source.id, fieldID: 1000 + index,
                                                  name: transform == .identity ? source.name : "\(source.name)_\(p.transform.lowercased().prefix { $0 != "[" })", transform: transform))
            }
            do {
                table = try blocking { [tables, identifier, clock, spec] () async throws -> IcebergTable in
                    do {
                        return try await tables.create(identifier, fields: icebergFields, partition: spec, properties: ["k2i.created-by": "kyma k2i"], nowMillis: clock())
                    } catch let error as IcebergError {
                        if case .tableExists = error { return try await tables.load(identifier) }
                        throw error
                    }
                }
                log.info("created table", ["table": identifier.description, "schema": icebergFields.map { "\($0.name):\($0.icebergTypeName)" }.joined(separator: ",")])
            } catch {
                throw .iceberg("creating \(identifier): \(error)")
            }
        } catch {
            throw .iceberg("\(error)")
        }
        tableOffsets = Self.offsets(table.currentSummary)
        let fields = table.fields.map { (name: $0.name, type: $0.type) }
        let buffer = HotBuffer(fields: fields, keyField: config.optionalString("kafka.format.key_field"))
        self.buffer = buffer
        bufferRef.withLock { $0 = buffer }
        decoder = makeDecoder(fields)
    }

    /// Refills the buffer from the transaction log: records past the table's offsets.
    func recoverTransactionLog() throws(K2IError) {
        guard let txlog else { return }
        let records = try txlog.recover()
        guard !records.isEmpty else { return }
        if buffer == nil { try openTable(schemaFrom: records.prefix(config.int("kafka.format.infer_from_records")).map { Array($0.value) }) }
        let fresh = records.filter { $0.offset >= (tableOffsets[$0.topicPartition] ?? 0) }
        try txlog.truncate()
        try txlog.append(fresh)
        try insert(fresh)
        log.info("recovered the hot buffer from the transaction log", ["records": String(fresh.count), "skipped_committed": String(records.count - fresh.count)])
    }

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

    // MARK: - Status for the HTTP endpoints

    var lastStatusMillis: Int64 = 0

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
