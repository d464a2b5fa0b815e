// `kyma table publish-iceberg`: a Kyma table's rows as an Iceberg table, so Trino, Spark,
// DuckDB or pyiceberg read them without Kyma in the path. Each active extent becomes data files
// of its own (Parquet with Iceberg field ids and microsecond timestamps, written by KymaIceberg)
// in one snapshot; publishing again after ingests adds the new extents' files, and after a
// compaction swaps the retired extents' files for the replacement's in one snapshot.

import KymaCatalog
import KymaCore
import KymaExtentSource
import KymaFormat
import KymaIceberg
import KymaTableSource

extension KymaServices {
    /// Publishes `table` as `identifier` in `tables`' catalog (created on first publish).
    public func publishIceberg(table: String, as identifier: IcebergTableIdentifier, tables: IcebergTables,
                               nowMillis: Int64) async throws(IcebergError) -> MirrorReport {
        let extents: [ExtentRecord]
        do {
            guard try await catalog.table(named: table) != nil else { throw IcebergError.invalid("no Kyma table '\(table)'") }
            extents = try await catalog.extents(table: table, matching: .all).filter { $0.state == .active }
        } catch let error as IcebergError {
            throw error
        } catch {
            throw .catalog("reading the extents of '\(table)': \(error)")
        }
        let readers = self.readers(footers: FooterCache())
        let byKey = Dictionary(extents.map { ($0.objectKey, $0) }, uniquingKeysWith: { a, _ in a })
        func rows(_ key: String) async throws(IcebergError) -> [ColumnBatch] {
            guard let extent = byKey[key] else { throw .invalid("extent \(key) is not in '\(table)'") }
            do {
                let unit = ScanUnit(objectKey: key, format: extent.formatName, byteSize: Int(extent.byteSize), rowCount: Int(extent.rowCount), blocks: [])
                let reader = try await readers.reader(for: unit)
                return try await reader.read(blocks: BlockSelection(blocks: Array(0..<reader.blockCount)), columns: nil, rowSelections: nil)
            } catch {
                throw .store("reading extent \(key) of '\(table)': \(error)")
            }
        }
        do {
            _ = try await tables.load(identifier)
        } catch .tableNotFound {
            // First publish: the table starts with the first extent's columns; later ones add theirs.
            guard let first = extents.min(by: { $0.objectKey < $1.objectKey }) else {
                throw .invalid("'\(table)' has no rows to publish yet")
            }
            var fields: [IcebergField] = []
            for batch in try await rows(first.objectKey) {
                for (name, column) in zip(batch.names, batch.columns) where !fields.contains(where: { $0.name == name }) {
                    guard [DataType.int64, .float64, .string, .bool, .timestamp, .binary].contains(column.dataType) else {
                        throw .invalid("column '\(name)' of '\(table)' is \(column.dataType.rawValue), which Iceberg tables here do not hold")
                    }
                    fields.append(IcebergField(id: fields.count + 1, name: name, type: column.dataType))
                }
            }
            _ = try await tables.create(identifier, fields: fields, properties: ["kyma.source-table": table], nowMillis: nowMillis)
        }
        return try await tables.mirror(identifier, sources: extents.map(\.objectKey), rows: rows, nowMillis: nowMillis)
    }
}
