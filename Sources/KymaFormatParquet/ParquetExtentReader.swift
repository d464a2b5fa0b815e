// Reading a Parquet extent through `ExtentReader`: pruning row groups by statistics, then Bloom
// filters (ranged GETs for the row groups still in play), then null counts; decoding only the
// requested columns of the selected row groups (one ranged GET per column chunk).

import KymaCore
import KymaFormat
import KymaIndex
import KymaObjectStore
import KymaParquet

struct ParquetExtentReader: ExtentReader {
    let key: ObjectKey
    let store: any ObjectStore
    let file: ParquetFile
    let schema: Schema
    let footerBytesFetched: Int

    init(key: ObjectKey, store: any ObjectStore, file: ParquetFile, footerBytesFetched: Int) throws {
        self.key = key
        self.store = store
        self.file = file
        self.footerBytesFetched = footerBytesFetched
        schema = try Schema(file.fields.map { Field(name: $0.name, type: $0.type, nullable: $0.optional, vectorDimension: $0.vectorDimension) })
    }

    var rowCount: Int { file.rowCount }
    var indexBytes: Int {
        (0..<blockCount).reduce(0) { total, group in
            schema.fields.indices.reduce(total) { $0 + (file.bloomRange(rowGroup: group, column: $1)?.count ?? 0) }
        }
    }
    var blockCount: Int { file.rowGroups.count }

    enum Level { case stats, bloom, nulls }

    func pruneBlocks(_ predicate: BlockPredicate) async throws(FormatError) -> (BlockSelection, PruningStats) {
        var stats = PruningStats(blocksTotal: blockCount)
        let afterStats = (0..<blockCount).filter { mayMatch(predicate, $0, [.stats], blooms: [:]) }
        stats.keptByStats = afterStats.count
        var blooms: [BlockColumn: SplitBlockBloomFilter] = [:]
        for column in equalityColumns(predicate) {
            for block in afterStats {
                guard let range = file.bloomRange(rowGroup: block, column: column) else { continue }
                let bytes = try await fetch(range)
                guard file.bloomChecksumMatches(rowGroup: block, column: column, bytes) else {
                    throw .corrupt(key: key.rawValue, offset: range.lowerBound, reason: "Bloom filter checksum (kyma.bloom_crc) missing or wrong")
                }
                do { blooms[BlockColumn(block: block, column: column)] = try ParquetFile.bloomFilter(bytes) } catch {
                    throw .corrupt(key: key.rawValue, offset: range.lowerBound, reason: "\(error)")
                }
            }
        }
        let afterBloom = afterStats.filter { mayMatch(predicate, $0, [.stats, .bloom], blooms: blooms) }
        stats.keptByBloom = afterBloom.count
        let afterNulls = afterBloom.filter { mayMatch(predicate, $0, [.stats, .bloom, .nulls], blooms: blooms) }
        stats.keptByPathBitmap = afterNulls.count
        stats.keptByInvertedIndex = afterNulls.count  // no inverted index in Parquet
        return (BlockSelection(blocks: afterNulls), stats)
    }

    func read(blocks: BlockSelection, columns: [String]?, rowSelections: [Int: [UInt32]]?) async throws(FormatError) -> [ColumnBatch] {
        let indices = columns.map { names in names.compactMap { schema.index(of: $0) } } ?? Array(schema.fields.indices)
        var out: [ColumnBatch] = []
        for block in blocks.blocks {
            guard block >= 0, block < blockCount else { throw .corrupt(key: key.rawValue, offset: 0, reason: "no row group \(block)") }
            var chunks: [Int: [UInt8]] = [:]
            for column in indices {
                let range: Range<Int>
                do { range = try file.chunkRange(rowGroup: block, column: column) } catch { throw .corrupt(key: key.rawValue, offset: 0, reason: "\(error)") }
                chunks[column] = try await fetch(range)
            }
            var batch: ColumnBatch
            do { batch = try file.read(rowGroup: block, columns: indices, chunks: chunks) } catch {
                throw .corrupt(key: key.rawValue, offset: (try? file.chunkRange(rowGroup: block, column: indices.first ?? 0).lowerBound) ?? 0, reason: "\(error)")
            }
            if let rows = rowSelections?[block] ?? blocks.rowSelections[block] { batch.selection = rows.filter { Int($0) < batch.rowCount } }
            out.append(batch)
        }
        return out
    }

    func fetch(_ range: Range<Int>) async throws(FormatError) -> [UInt8] {
        let bytes: [UInt8]
        do { bytes = try await store.get(key, range: .bounded(offset: range.lowerBound, length: range.count)) } catch { throw .store(error) }
        guard bytes.count == range.count else {
            throw .corrupt(key: key.rawValue, offset: range.lowerBound, reason: "read returned \(bytes.count) of \(range.count) bytes")
        }
        return bytes
    }

    struct BlockColumn: Hashable {
        var block: Int
        var column: Int
    }

    /// Columns whose Bloom filters the predicate can use (equality outside `not`).
    func equalityColumns(_ predicate: BlockPredicate) -> [Int] {
        var out = Set<Int>()
        func walk(_ p: BlockPredicate) {
            switch p {
            case .and(let parts), .or(let parts): parts.forEach(walk)
            case .compare(let column, .equal, _), .inSet(let column, _):
                if let index = schema.index(of: column) { out.insert(index) }
            default: break
            }
        }
        walk(predicate)
        return out.sorted()
    }

    /// May row group `b` hold a row matching `predicate`? Conservative: true unless a level
    /// proves otherwise.
    func mayMatch(_ predicate: BlockPredicate, _ b: Int, _ levels: Set<Level>, blooms: [BlockColumn: SplitBlockBloomFilter]) -> Bool {
        let group = file.rowGroups[b]
        func column(_ name: String) -> (Int, ParquetColumnStatistics)? {
            guard let index = schema.index(of: name) else { return nil }
            return (index, group.statistics[index])
        }
        /// false when the column holds no value in this row group.
        func hasValues(_ s: ParquetColumnStatistics) -> Bool { !(levels.contains(.nulls) && s.nullCount == group.rowCount) }
        switch predicate {
        case .alwaysTrue: return true
        case .and(let parts): return parts.allSatisfy { mayMatch($0, b, levels, blooms: blooms) }
        case .or(let parts): return parts.contains { mayMatch($0, b, levels, blooms: blooms) }
        case .not: return true
        case .timeRange(let name, let range):
            guard let (index, s) = column(name), schema.fields[index].type == .timestamp else { return false }
            guard hasValues(s) else { return false }
            if levels.contains(.stats), let lo = s.min, let hi = s.max,
               let a = ScalarOrder.compare(hi, .timestamp(range.lowerNanos)), let c = ScalarOrder.compare(lo, .timestamp(range.upperNanos)), a < 0 || c > 0 {
                return false
            }
            return true
        case .compare(let name, let op, let constant):
            guard let (index, s) = column(name) else { return false }
            guard hasValues(s) else { return false }
            if levels.contains(.stats), let lo = s.min, let hi = s.max,
               StatisticsBounds.mayMatch(op, lower: lo, upper: hi, constant: constant) == false { return false }
            if op == .equal, levels.contains(.bloom), let bloom = blooms[BlockColumn(block: b, column: index)],
               let hash = file.bloomHash(constant, column: index), !bloom.mightContain(hash: hash) {
                return false
            }
            return true
        case .inSet(let name, let values):
            return values.contains { mayMatch(.compare(column: name, .equal, $0), b, levels, blooms: blooms) }
        case .hasTerm(let name, _):
            guard let (index, s) = column(name), schema.fields[index].type == .string else { return false }
            return hasValues(s)
        case .prefix(let name, let prefix):
            guard let (index, s) = column(name), schema.fields[index].type == .string else { return false }
            guard hasValues(s) else { return false }
            if levels.contains(.stats), case .string(let lo)? = s.min, case .string(let hi)? = s.max,
               !StatisticsBounds.prefixMayMatch(lower: lo, upper: hi, prefix: prefix) { return false }
            return true
        case .pathExists(let name):
            guard let (_, s) = column(name) else { return false }
            return hasValues(s)
        }
    }
}
