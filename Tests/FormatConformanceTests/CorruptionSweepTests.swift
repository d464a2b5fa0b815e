// The corrupt-byte sweep: every byte of a small extent of each format, flipped one at a time,
// must either be detected with a typed error naming the object and offset, or leave the answer
// unchanged: a full read, an equality needle and a `has` term each give the rows of the
// undamaged data (computed from the generated batches, not from the format).

import Synchronization
import Testing
import KymaCore
import KymaFormat
import KymaObjectStore

/// One object held in memory: the sweep replaces its bytes thousands of times, and a file store
/// would fsync each.
final class SingleObjectStore: ObjectStore {
    let bytes = Mutex<[UInt8]>([])
    var description: String { "single-object" }

    func put(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) { self.bytes.withLock { $0 = bytes } }
    func putIfAbsent(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) { try await put(key, bytes) }
    func get(_ key: ObjectKey) async throws(ObjectStoreError) -> [UInt8] { bytes.withLock { $0 } }
    func get(_ key: ObjectKey, range: ByteRange) async throws(ObjectStoreError) -> [UInt8] {
        let all = bytes.withLock { $0 }
        return Array(all[try range.resolve(size: all.count, key: key)])
    }
    func head(_ key: ObjectKey) async throws(ObjectStoreError) -> ObjectMetadata { ObjectMetadata(key: key, size: bytes.withLock { $0.count }) }
    func list(prefix: String, pageToken: String?, maxKeys: Int) async throws(ObjectStoreError) -> ObjectListing {
        ObjectListing(objects: [], nextPageToken: nil)
    }
    func delete(_ key: ObjectKey) async throws(ObjectStoreError) {}
}

@Suite("Corrupt-byte sweep")
struct CorruptionSweepTests {
    static let queries: [BlockPredicate] = [
        .alwaysTrue,
        .compare(column: "status", .equal, .int64(404)),
        .hasTerm(column: "msg", "timeout"),
    ]

    /// The rows of `batches` that `predicate` matches, in order.
    static func matching(_ batches: [ColumnBatch], _ predicate: BlockPredicate) -> [[ScalarValue]] {
        batches.flatMap { batch in
            batch.selectedRows.filter { predicate.matches(batch, row: $0) }.map { row in
                RandomData.schema.fields.map { batch.column(named: $0.name)?.value(at: row) ?? .null }
            }
        }
    }

    /// Opens the stored object and answers every query: the rows each returns.
    static func answers(_ store: SingleObjectStore, _ key: ObjectKey, size: Int) async throws(FormatError) -> [[[ScalarValue]]] {
        let reader = try await allFormats.open(store: store, key: key, size: size)
        var result: [[[ScalarValue]]] = []
        for predicate in queries {
            let (selection, _) = try await reader.pruneBlocks(predicate)
            result.append(matching(try await reader.read(blocks: selection, columns: nil, rowSelections: nil), predicate))
        }
        return result
    }

    @Test(arguments: formatsUnderTest.map(\.format.name))
    func everyFlippedByteIsDetectedOrHarmless(_ formatName: String) async throws {
        let under = try #require(formatsUnderTest.first { $0.format.name == formatName })
        var data = RandomData(seed: 21)
        let batches = [data.batch(rows: 48, startTime: 1_700_000_000_000_000_000)]
        let writer = try under.format.makeWriter(schema: RandomData.schema, options: FormatOptions(under.corruptionOptions))
        for batch in batches { try writer.append(batch) }
        let clean = try writer.finish().bytes
        let expected = Self.queries.map { Self.matching(batches, $0) }
        #expect(expected[1].count > 0 && expected[2].count > 0, "the needle and the term each match some rows")

        let store = SingleObjectStore()
        let key = try ObjectKey("sweep/extent.\(formatName)")
        try await store.put(key, clean)
        let undamaged = try await Self.answers(store, key, size: clean.count)
        #expect(undamaged == expected, "the undamaged extent answers correctly")

        // Every byte when the extent is small, else 4,096 evenly spread positions.
        let positions = clean.count <= 8_192 ? Array(clean.indices) : (0..<4_096).map { $0 * clean.count / 4_096 }
        var detected = 0, unchanged = 0
        for position in positions {
            for flip: UInt8 in [0x01, 0xFF] {
                var damaged = clean
                damaged[position] ^= flip
                try await store.put(key, damaged)
                do throws(FormatError) {
                    let got = try await Self.answers(store, key, size: damaged.count)
                    let changed = zip(got, expected).enumerated().filter { $0.element.0 != $0.element.1 }.map { Self.queries[$0.offset] }
                    #expect(changed.isEmpty, "\(formatName): byte \(position) ^ \(flip) of \(clean.count) changed the answer to \(changed) without an error")
                    unchanged += 1
                } catch {
                    switch error {
                    case .corrupt(let k, let offset, _), .unsupportedVersion(let k, let offset, _, _):
                        #expect(k == key.rawValue && offset >= 0 && offset <= damaged.count, "\(formatName): byte \(position): \(error)")
                    case .unknownFormat(let k, _):
                        #expect(k == key.rawValue)
                    default:
                        Issue.record("\(formatName): byte \(position) ^ \(flip): an untyped answer \(error)")
                    }
                    detected += 1
                }
            }
        }
        // The sweep's tally, for the CI log: every flip is counted in one of the two.
        print("corrupt-byte sweep \(formatName): \(clean.count) bytes, \(positions.count * 2) flips, \(detected) detected, \(unchanged) unchanged")
        #expect(detected + unchanged == positions.count * 2)
        #expect(detected > unchanged, "most flips land in checksummed bytes")
    }
}
