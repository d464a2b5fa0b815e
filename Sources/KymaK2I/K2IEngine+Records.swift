// The engine's intake: polled records checked against the table's offsets, decoded into the hot
// buffer (the schema evolved or the partition paused on a breaking change, bad records rejected
// to the dead-letter file), the table opened from the first records, the buffer recovered from
// the transaction log.

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
}
