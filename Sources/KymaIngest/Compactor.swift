// Compaction: small extents of a table and time window merged into larger ones, as work units
// in the catalog (claimed with FOR UPDATE SKIP LOCKED, so any number of workers can run it).
// The swap of old for new extents is one catalog transaction; each replaced object carries the
// grace period of the swap that retired it, so a query that listed it before still finds it
// (the garbage collector deletes it after that deadline).

import KymaCatalog
import KymaCore
import KymaFormat
import KymaObjectStore

public struct Compactor: Sendable {
    public static let workKind = "compact"

    public let catalog: any Catalog
    public let store: any ObjectStore
    public let formats: FormatRegistry
    /// Extents smaller than this many bytes are candidates.
    public var smallExtentBytes: Int64
    /// Rows per merged extent at most.
    public var maxRowsPerExtent: Int
    public var timeWindowNanos: Int64
    /// How long a replaced extent's object outlives the swap (queries that listed it before the
    /// swap may still read it).
    public var graceSeconds: Int

    public init(catalog: any Catalog, store: any ObjectStore, formats: FormatRegistry, smallExtentBytes: Int64 = 64 << 20,
                maxRowsPerExtent: Int = 1_000_000, timeWindowNanos: Int64 = 86_400_000_000_000, graceSeconds: Int = 300) {
        self.catalog = catalog
        self.store = store
        self.formats = formats
        self.smallExtentBytes = smallExtentBytes
        self.maxRowsPerExtent = maxRowsPerExtent
        self.timeWindowNanos = timeWindowNanos
        self.graceSeconds = graceSeconds
    }

    /// Queues one work unit per time window of `table` holding two or more small extents; with
    /// `rewrite`, every extent of every window (however large, alone or not), so the table's
    /// extents are rewritten with its current format options (`kyma table alter`).
    /// Returns the units' ids (a window already queued with the same extents is not queued twice).
    public func plan(table: String, rewrite: Bool = false) async throws(IngestError) -> [WorkUnitID] {
        let extents: [ExtentRecord]
        do { extents = try await catalog.extents(table: table, matching: .all) } catch { throw .catalog(error) }
        var windows: [Int64: [ExtentRecord]] = [:]
        for extent in extents where rewrite || extent.byteSize < smallExtentBytes {
            let start = extent.timeRange.lowerNanos
            windows[start >= 0 ? start / timeWindowNanos : (start + 1) / timeWindowNanos - 1, default: []].append(extent)
        }
        var units: [WorkUnitID] = []
        for (_, group) in windows.sorted(by: { $0.key < $1.key }) where group.count >= (rewrite ? 1 : 2) {
            let ids = group.map(\.id.uuid).sorted()
            let payload = "{\"table\": \(JSONText.quote(table)), \"extents\": [\(ids.map(JSONText.quote).joined(separator: ", "))]}"
            // The key names the table and the exact set of inputs, hashed: bounded however many
            // extents or however long the table name.
            let key = "compact:" + SHA256.hexDigest(Array((table + "\n" + ids.joined(separator: ",")).utf8))
            do {
                units.append(try await catalog.enqueueWork(kind: Self.workKind, payload: payload, deduplicationKey: key))
            } catch {
                throw .catalog(error)
            }
        }
        return units
    }

    /// What one unit did.
    public enum Outcome: Sendable, Equatable {
        case merged(inputs: Int, outputs: Int, rows: Int)
        /// Another compaction replaced some inputs first; nothing changed.
        case lostRace
    }

    /// Claims and runs one compaction unit; nil when there is none.
    public func runOnce(owner: String, leaseSeconds: Int = 300) async throws(IngestError) -> Outcome? {
        let unit: WorkUnit
        do {
            guard let claimed = try await catalog.claimWork(kinds: [Self.workKind], owner: owner, leaseSeconds: leaseSeconds) else { return nil }
            unit = claimed
        } catch {
            throw .catalog(error)
        }
        do throws(IngestError) {
            let outcome = try await merge(unit)
            let result: String
            switch outcome {
            case .merged(let inputs, let outputs, let rows): result = "{\"inputs\": \(inputs), \"outputs\": \(outputs), \"rows\": \(rows)}"
            case .lostRace: result = "{\"lost_race\": true}"
            }
            do { try await catalog.completeWork(unit.id, owner: owner, result: result) } catch { throw IngestError.catalog(error) }
            return outcome
        } catch {
            try? await catalog.failWork(unit.id, owner: owner, error: error.description)
            throw error
        }
    }

    private func merge(_ unit: WorkUnit) async throws(IngestError) -> Outcome {
        guard let (table, ids) = Self.parsePayload(unit.payload) else { throw .unexpected("work unit \(unit.id) has a bad payload: \(unit.payload)") }
        let current: [ExtentRecord]
        let info: TableInfo?
        do {
            current = try await catalog.extents(table: table, matching: .all)
            info = try await catalog.table(named: table)
        } catch {
            throw .catalog(error)
        }
        guard let info, let format = formats.format(named: info.definition.formatName) else { throw .tableFormat("table '\(table)' or its format is gone") }
        let inputs = current.filter { ids.contains($0.id.uuid) }
        guard inputs.count == ids.count else { return .lostRace }

        // Read every row of the inputs as named scalars.
        var rows: [LogIngestor.Row] = []
        var timeColumn = info.definition.timeColumn ?? "_time"
        for extent in inputs {
            do {
                let key = try ObjectKey(extent.objectKey)
                let reader = try await formats.open(store: store, key: key, size: Int(extent.byteSize))
                if reader.schema.field(named: timeColumn) == nil, let time = reader.schema.fields.first(where: { $0.type == .timestamp }) {
                    timeColumn = time.name
                }
                for batch in try await reader.read(blocks: BlockSelection(blocks: Array(0..<reader.blockCount)), columns: nil, rowSelections: nil) {
                    for row in 0..<batch.rowCount {
                        var fields: [(String, ScalarValue)] = []
                        var time: Int64 = 0
                        for (name, column) in zip(batch.names, batch.columns) {
                            let value = column.value(at: row)
                            if name == timeColumn, case .timestamp(let t) = value { time = t }
                            fields.append((name, value))
                        }
                        rows.append(LogIngestor.Row(time: time, fields: fields))
                    }
                }
            } catch {
                throw IngestError(wrapping: error)
            }
        }
        var formatOptions = info.definition.options
        formatOptions["time_column"] = timeColumn
        var outputs: [ExtentRecord] = []
        var uploaded: [ObjectKey] = []
        for group in LogIngestor.cut(rows, maxRows: maxRowsPerExtent, window: Int64.max / 2) {
            let (schema, batch) = LogIngestor.columns(group, timeColumn: timeColumn)
            do {
                let writer = try format.makeWriter(schema: schema, options: FormatOptions(formatOptions))
                try writer.append(batch)
                let finished = try writer.finish()
                let id = ExtentID.random()
                let key = try ObjectKey("tables/\(info.id)/extents/\(id.uuid).\(format.name)")
                try await catalog.registerUploads(table: table, objectKeys: [key.rawValue])
                try await store.putIfAbsent(key, finished.bytes)
                uploaded.append(key)
                outputs.append(LogIngestor.record(id: id, key: key, finished.manifest))
            } catch {
                throw IngestError(wrapping: error)
            }
        }
        do {
            try await catalog.replaceExtents(table: table, retiring: inputs.map(\.id), adding: outputs, graceSeconds: graceSeconds)
        } catch .conflict {
            for key in uploaded { try? await store.delete(key) }
            return .lostRace
        } catch {
            throw .catalog(error)
        }
        return .merged(inputs: inputs.count, outputs: outputs.count, rows: rows.count)
    }

    /// `{"table": "...", "extents": ["uuid", ...]}` as written by `plan` (and normalised by jsonb).
    static func parsePayload(_ payload: String) -> (String, Set<String>)? {
        guard let fields = try? JSONLineParser.flatten(Array(payload.utf8)[...]),
              case .string(let table)? = fields.first(where: { $0.0 == "table" })?.1,
              case .string(let list)? = fields.first(where: { $0.0 == "extents" })?.1 else { return nil }
        let ids = list.split(whereSeparator: { "[], \"".contains($0) }).map(String.init)
        return (table, Set(ids))
    }
}

