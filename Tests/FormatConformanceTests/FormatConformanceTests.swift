// The format conformance suite, written against `SegmentFormat` only, so every format (TLM and
// Parquet) runs the same checks: round trips of random batches with every type, nulls,
// encodings and codecs; pruning never drops a matching block (against brute force); `has`
// through an inverted index answers exactly like a term scan (formats without one keep every
// block with a match); corruption is caught.

import Testing
import KymaCore
import KymaFormat
import KymaFormatParquet
import KymaFormatTLM
import KymaKernels
import KymaObjectStore
import KymaObjectStoreLocal
import KymaTestSupport

/// A format under test with the option sets its round trips run and the options it must refuse.
struct FormatUnderTest: Sendable {
    let format: any SegmentFormat
    let optionSets: [[String: String]]
    /// `has` row selections are exact (an inverted index).
    let exactTermIndex: Bool
    let corruptionOptions: [String: String]
    let badOptions: [[String: String]]
}

/// The formats under test. A new format adds itself here.
let formatsUnderTest: [FormatUnderTest] = [
    FormatUnderTest(format: TLMFormat(), optionSets: [
        [:],
        ["block_rows": "3", "codec": "none"],
        ["block_rows": "7", "codec": "lz4"],
        ["block_rows": "2", "codec": "zstd", "zstd_level": "9"],
        ["block_rows": "50", "encoding": "plain"],
        ["block_rows": "50", "encoding": "dictionary"],
        ["block_rows": "50", "encoding": "frame_of_reference"],
        ["block_rows": "50", "encoding": "delta"],
        ["block_rows": "50", "encoding": "delta_of_delta"],
        ["block_rows": "50", "encoding": "run_length"],
        ["block_rows": "50", "encoding": "bit_packed", "bloom": "false", "inverted_index": "false"],
        ["block_rows": "50", "bloom_columns": "status, msg"],
        ["block_rows": "50", "inverted_index_columns": "service"],
    ], exactTermIndex: true, corruptionOptions: ["block_rows": "16", "codec": "lz4"],
       badOptions: [["block_rows": "0"], ["codec": "gzip"], ["encoding": "fancy"], ["bloom_fpp": "2"], ["bloom_columns": "status,,msg"], ["inverted_index_columns": ""], ["colour": "blue"]]),
    FormatUnderTest(format: ParquetFormat(), optionSets: [
        [:],
        ["block_rows": "3", "codec": "none"],
        ["block_rows": "7", "page_version": "2"],
        ["block_rows": "2", "codec": "zstd", "zstd_level": "9"],
        ["block_rows": "50", "encoding": "plain", "page_rows": "7"],
        ["block_rows": "50", "encoding": "dictionary", "page_version": "2", "page_rows": "16"],
        ["block_rows": "50", "bloom": "false", "codec": "none", "page_version": "2"],
        ["block_rows": "9", "codec": "snappy", "page_rows": "4"],
        ["block_rows": "50", "codec": "gzip", "page_version": "2"],
        ["block_rows": "50", "codec": "lz4", "encoding": "plain"],
    ], exactTermIndex: false, corruptionOptions: ["block_rows": "16", "page_rows": "5", "codec": "none"],
       badOptions: [["block_rows": "0"], ["codec": "brotli"], ["encoding": "delta"], ["bloom_fpp": "2"], ["page_version": "3"], ["colour": "blue"]]),
]

let allFormats = FormatRegistry(formatsUnderTest.map(\.format))

struct RandomData {
    static let words = ["error", "timeout", "user", "login", "GET", "POST", "db", "cache", "miss", "ok", "Disk", "full", "retry", "x-request-id"]

    var generator = SplitMix64(seed: 42)

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    static let schema = try! Schema([  // a literal schema with unique names
        Field(name: "_time", type: .timestamp), Field(name: "status", type: .int64), Field(name: "latency", type: .float64),
        Field(name: "ok", type: .bool), Field(name: "msg", type: .string), Field(name: "service", type: .string),
        Field(name: "blob", type: .binary), Field(name: "embedding", type: .float32Vector, vectorDimension: 3),
        Field(name: "rare", type: .int64),
    ])

    mutating func batch(rows: Int, startTime: Int64, omit: Set<String> = []) -> ColumnBatch {
        var builders = RandomData.schema.fields.filter { $0.type != .float32Vector }.map { ($0.name, ColumnBuilder($0.type)) }
        var vectors: [Float] = []
        var vectorValidity = ValidityBitmap(allValid: rows)
        for row in 0..<rows {
            for index in builders.indices {
                let name = builders[index].0
                let nullRate: UInt64 = name == "rare" ? 95 : (name == "_time" ? 0 : 10)
                let isNull = generator.next() % 100 < nullRate
                var value: ScalarValue = .null
                if !isNull {
                    switch name {
                    case "_time": value = .timestamp(startTime + Int64(row) * 1_000_000 + Int64(generator.next() % 1000))
                    case "status": value = .int64([200, 200, 200, 201, 404, 500, 503][Int(generator.next() % 7)])
                    case "latency": value = .float64(Double(generator.next() % 100_000) / 100)
                    case "ok": value = .bool(generator.next() % 4 != 0)
                    case "msg": value = .string((0..<Int(1 + generator.next() % 5)).map { _ in Self.words[Int(generator.next() % UInt64(Self.words.count))] }.joined(separator: generator.next() % 2 == 0 ? " " : ", "))
                    case "service": value = .string(["api", "auth", "billing", "search"][Int(generator.next() % 4)])
                    case "blob": value = .binary((0..<Int(generator.next() % 6)).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
                    default: value = .int64(Int64(bitPattern: generator.next()))
                    }
                }
                try? builders[index].1.append(value)
            }
            let vectorNull = generator.next() % 10 == 0
            vectorValidity.set(row, valid: !vectorNull)
            for _ in 0..<3 { vectors.append(vectorNull ? 0 : Float(generator.next() % 1000) / 10) }
        }
        var columns: [(String, Column)] = builders.map { ($0.0, $0.1.finish()) }
        columns.append(("embedding", Column(.float32Vector(dimension: 3, values: vectors), validity: vectorValidity)))
        return (try? ColumnBatch(rowCount: rows, columns: columns.filter { !omit.contains($0.0) })) ?? ColumnBatch(rowCount: 0)
    }
}

/// A small deterministic generator, so failures reproduce.

/// Writes batches as one extent into a fresh local store and opens it through the registry.
func writeAndOpen(_ format: any SegmentFormat, _ batches: [ColumnBatch], options: [String: String])
    async throws -> (any ExtentReader, FinishedExtent, LocalFileSystemObjectStore, ObjectKey) {
    let writer = try format.makeWriter(schema: RandomData.schema, options: FormatOptions(options))
    for batch in batches { try writer.append(batch) }
    let finished = try writer.finish()
    let store = try LocalFileSystemObjectStore(root: TestServices.makeTemporaryDirectory("kyma-format"))
    let key = try ObjectKey("t/extent.\(format.name)")
    try await store.put(key, finished.bytes)
    let reader = try await allFormats.open(store: store, key: key, size: finished.bytes.count)
    return (reader, finished, store, key)
}

/// Every row of every batch, as scalars in schema order (absent columns as null).
func expectedRows(_ batches: [ColumnBatch]) -> [[ScalarValue]] {
    batches.flatMap { batch in
        (0..<batch.rowCount).map { row in RandomData.schema.fields.map { batch.column(named: $0.name)?.value(at: row) ?? .null } }
    }
}

func decodedRows(_ batches: [ColumnBatch]) -> [[ScalarValue]] { expectedRows(batches) }

/// nil when equal, else where the two row lists first differ (short enough to read).
func firstDifference(_ got: [[ScalarValue]], _ want: [[ScalarValue]]) -> String? {
    if got == want { return nil }
    if got.count != want.count { return "row count \(got.count) != \(want.count)" }
    for (row, (g, w)) in zip(got, want).enumerated() where g != w {
        for (column, (a, b)) in zip(g, w).enumerated() where a != b {
            return "row \(row) column \(RandomData.schema.fields[column].name): got \(a), want \(b)"
        }
    }
    return "rows differ"
}

@Suite("SegmentFormat conformance")
struct FormatConformanceTests {
    /// "format/option set index" for every format's option sets.
    static let roundTripCases: [String] = formatsUnderTest.flatMap { f in f.optionSets.indices.map { "\(f.format.name)/\($0)" } }

    @Test(arguments: roundTripCases)
    func randomBatchesRoundTrip(_ testCase: String) async throws {
        let parts = testCase.split(separator: "/")
        let under = try #require(formatsUnderTest.first { $0.format.name == parts[0] })
        let optionIndex = try #require(Int(parts[1]))
        let format = under.format
        let options = under.optionSets[optionIndex]
        do {
            var data = RandomData(seed: UInt64(optionIndex) + 1)
            let batches = [data.batch(rows: 1, startTime: 1_000), data.batch(rows: 130, startTime: 2_000_000_000),
                           data.batch(rows: 0, startTime: 0), data.batch(rows: 61, startTime: 9_000_000_000, omit: ["msg", "rare"])]
            let (reader, finished, _, _) = try await writeAndOpen(format, batches, options: options)
            #expect(reader.rowCount == 192)
            #expect(finished.manifest.rowCount == 192)
            #expect(finished.manifest.byteSize == finished.bytes.count)
            let all = BlockSelection(blocks: Array(0..<reader.blockCount))
            let decoded = try await reader.read(blocks: all, columns: nil, rowSelections: nil)
            let difference = firstDifference(decodedRows(decoded), expectedRows(batches))
            #expect(difference == nil, "\(format.name) options \(options): \(difference ?? "")")
            // Streaming one block at a time yields the same rows.
            var streamed: [ColumnBatch] = []
            for try await batch in reader.stream(all) { streamed.append(batch) }
            #expect(firstDifference(decodedRows(streamed), expectedRows(batches)) == nil)
            // Projection: only the asked columns come back.
            let projected = try await reader.read(blocks: all, columns: ["status", "msg"], rowSelections: nil)
            #expect(projected.allSatisfy { $0.names == ["status", "msg"] })
            // The manifest's summaries agree with the data.
            let times = expectedRows(batches).compactMap { row -> Int64? in if case .timestamp(let t) = row[0] { t } else { nil } }
            #expect(finished.manifest.timeRange == TimeRange(lowerNanos: times.min()!, upperNanos: times.max()!))
            #expect(Set(finished.manifest.presentPaths) == Set(RandomData.schema.fields.map(\.name)))
            let statuses = expectedRows(batches).compactMap { row -> Int64? in if case .int64(let s) = row[1] { s } else { nil } }
            #expect(finished.manifest.columns["status"]?.min == .int64(statuses.min()!))
            #expect(finished.manifest.columns["status"]?.max == .int64(statuses.max()!))
        }
    }

    static func randomPredicate(_ g: inout SplitMix64, depth: Int = 0) -> BlockPredicate {
        let constants: [ScalarValue] = [.int64(200), .int64(404), .int64(503), .int64(999), .float64(404), .float64(12.5)]
        switch g.next() % (depth > 1 ? 8 : 11) {
        case 0: return .compare(column: "status", ComparisonOperator.allCases[Int(g.next() % 6)], constants[Int(g.next() % 6)])
        case 1: return .compare(column: "latency", ComparisonOperator.allCases[Int(g.next() % 6)], .float64(Double(g.next() % 1000)))
        case 2: return .inSet(column: "service", [.string(["api", "auth", "billing", "search", "nope"][Int(g.next() % 5)]), .string("zzz")])
        case 3: return .hasTerm(column: "msg", RandomData.words[Int(g.next() % UInt64(RandomData.words.count))].uppercased())
        case 4: return .prefix(column: "service", ["a", "bi", "se", "x"][Int(g.next() % 4)])
        case 5: return .pathExists(["rare", "msg", "nothere"][Int(g.next() % 3)])
        case 6:
            let lo = 2_000_000_000 + Int64(g.next() % 200_000_000)
            return .timeRange(column: "_time", TimeRange(lowerNanos: lo, upperNanos: lo + Int64(g.next() % 20_000_000)))
        case 7: return .compare(column: "service", .equal, .string(["api", "auth", "none"][Int(g.next() % 3)]))
        case 8: return .and([randomPredicate(&g, depth: depth + 1), randomPredicate(&g, depth: depth + 1)])
        case 9: return .or([randomPredicate(&g, depth: depth + 1), randomPredicate(&g, depth: depth + 1)])
        default: return .not(randomPredicate(&g, depth: depth + 1))
        }
    }

    @Test func pruningNeverDropsAMatchingBlockOrRow() async throws {
        for format in formatsUnderTest.map(\.format) {
            var data = RandomData(seed: 7)
            let batches = (0..<6).map { data.batch(rows: 40, startTime: 2_000_000_000 + Int64($0) * 40_000_000) }
            let (reader, _, _, _) = try await writeAndOpen(format, batches, options: ["block_rows": "13", "bloom_fpp": "0.01"])
            let blocks = try await reader.read(blocks: BlockSelection(blocks: Array(0..<reader.blockCount)), columns: nil, rowSelections: nil)
            var g = SplitMix64(seed: 99)
            var prunedSomething = false
            for _ in 0..<400 {
                let predicate = Self.randomPredicate(&g)
                let (selection, stats) = try await reader.pruneBlocks(predicate)
                #expect(stats.blocksTotal == reader.blockCount)
                #expect(stats.keptByStats >= stats.keptByBloom && stats.keptByBloom >= stats.keptByPathBitmap
                        && stats.keptByPathBitmap >= stats.keptByInvertedIndex && stats.keptByInvertedIndex == selection.blocks.count)
                if selection.blocks.count < reader.blockCount { prunedSomething = true }
                for (index, block) in blocks.enumerated() {
                    let matching = (0..<block.rowCount).filter { predicate.matches(block, row: $0) }
                    guard !matching.isEmpty else { continue }
                    #expect(selection.blocks.contains(index), "block \(index) has matches for \(predicate) but was pruned")
                    if let rows = selection.rowSelections[index] {
                        #expect(Set(matching.map(UInt32.init)).isSubset(of: Set(rows)), "rows pruned for \(predicate)")
                    }
                }
            }
            #expect(prunedSomething, "the indexes pruned at least some blocks")
        }
    }

    @Test func invertedIndexAnswersHasExactlyLikeATermScan() async throws {
        for under in formatsUnderTest {
            let format = under.format
            var data = RandomData(seed: 11)
            let batches = [data.batch(rows: 300, startTime: 0)]
            let (reader, _, _, _) = try await writeAndOpen(format, batches, options: ["block_rows": "64"])
            let blocks = try await reader.read(blocks: BlockSelection(blocks: Array(0..<reader.blockCount)), columns: nil, rowSelections: nil)
            for term in RandomData.words + ["ERROR", "Request", "id", "absent", "x-request-id"] {
                let predicate = BlockPredicate.hasTerm(column: "msg", term)
                let (selection, _) = try await reader.pruneBlocks(predicate)
                for (index, block) in blocks.enumerated() {
                    let matching = (0..<block.rowCount).filter { predicate.matches(block, row: $0) }.map(UInt32.init)
                    if !under.exactTermIndex {
                        // No inverted index: every block with a match is kept, no rows are narrowed.
                        if !matching.isEmpty { #expect(selection.blocks.contains(index), "\(format.name): '\(term)' dropped block \(index)") }
                        #expect(selection.rowSelections[index] == nil)
                    } else if matching.isEmpty {
                        #expect(!selection.blocks.contains(index), "'\(term)' kept block \(index) with no match")
                    } else {
                        #expect(selection.rowSelections[index] == matching, "'\(term)' in block \(index)")
                    }
                }
            }
            // Reading with the index's row selection returns exactly the matching rows.
            let (selection, _) = try await reader.pruneBlocks(.hasTerm(column: "msg", "timeout"))
            let selected = try await reader.read(blocks: selection, columns: ["msg"], rowSelections: nil)
            if under.exactTermIndex {
                for batch in selected {
                    for row in batch.selectedRows { #expect(BlockPredicate.hasTerm(column: "msg", "timeout").matches(batch, row: row)) }
                }
            }
        }
    }

    @Test func bloomFiltersPruneAbsentValues() async throws {
        for format in formatsUnderTest.map(\.format) {
            var data = RandomData(seed: 5)
            let (reader, _, _, _) = try await writeAndOpen(format, (0..<4).map { _ in data.batch(rows: 200, startTime: 0) },
                                                           options: ["block_rows": "100", "bloom_fpp": "0.01"])
            // Values inside every block's min/max but never present: stats keep, Bloom drops.
            var keptByStats = 0, keptByBloom = 0
            for value in stride(from: 201, through: 499, by: 1) where value != 404 {
                let (_, stats) = try await reader.pruneBlocks(.compare(column: "status", .equal, .int64(Int64(value))))
                keptByStats += stats.keptByStats
                keptByBloom += stats.keptByBloom
            }
            #expect(keptByStats > 0)
            #expect(Double(keptByBloom) <= 0.05 * Double(keptByStats), "bloom kept \(keptByBloom) of \(keptByStats)")
        }
    }

    @Test func corruptionIsCaughtNeverACrashOrAWrongAnswer() async throws {
        for under in formatsUnderTest {
            let format = under.format
            var data = RandomData(seed: 3)
            let batches = [data.batch(rows: 40, startTime: 0)]
            let (_, finished, store, key) = try await writeAndOpen(format, batches, options: under.corruptionOptions)
            let expected = expectedRows(batches)
            var g = SplitMix64(seed: 1234)
            var caught = 0, identical = 0
            let registry = allFormats
            for mutation in 0..<4000 {
                var damaged = finished.bytes
                let flips = 1 + Int(g.next() % 3)
                for _ in 0..<flips { damaged[Int(g.next() % UInt64(damaged.count))] ^= UInt8(1 + g.next() % 255) }
                if mutation % 10 == 0 { damaged = Array(damaged.prefix(Int(g.next() % UInt64(damaged.count)))) }  // truncation
                try await store.put(key, damaged)
                do {
                    let reader = try await registry.open(store: store, key: key, size: damaged.count)
                    let decoded = try await reader.read(blocks: BlockSelection(blocks: Array(0..<reader.blockCount)), columns: nil, rowSelections: nil)
                    let difference = firstDifference(decodedRows(decoded), expected)
                    #expect(difference == nil, "\(format.name) mutation \(mutation) decoded to different values: \(difference ?? "")")
                    identical += 1
                } catch {
                    switch error {
                    case .corrupt(let k, _, _), .unknownFormat(let k, _): #expect(k == key.rawValue)
                    case .unsupportedVersion: break
                    default: Issue.record("\(format.name) mutation \(mutation): unexpected \(error)")
                    }
                    caught += 1
                }
            }
            #expect(caught > 3000, "\(format.name): caught \(caught), decoded identically \(identical)")
        }
    }

    /// `bloom_columns` builds value filters for the named columns only: an absent status is then
    /// dropped by Bloom only when status is named, and the extent's index bytes shrink.
    @Test func tlmBloomColumnsLimitTheFilters() async throws {
        var data = RandomData(seed: 5)
        let batches = (0..<4).map { _ in data.batch(rows: 200, startTime: 0) }
        var indexBytes: [Int] = []
        for (columns, bloomDrops) in [("status", true), ("msg", false)] {
            let (reader, _, _, _) = try await writeAndOpen(TLMFormat(), batches, options: ["block_rows": "100", "bloom_columns": columns, "inverted_index": "false"])
            let (_, stats) = try await reader.pruneBlocks(.compare(column: "status", .equal, .int64(250)))
            #expect(stats.keptByStats == reader.blockCount)
            #expect((stats.keptByBloom < stats.keptByStats) == bloomDrops, "bloom_columns=\(columns): \(stats)")
            indexBytes.append(reader.indexBytes)
        }
        let (all, _, _, _) = try await writeAndOpen(TLMFormat(), batches, options: ["block_rows": "100", "inverted_index": "false"])
        #expect(indexBytes.allSatisfy { $0 > 0 && $0 < all.indexBytes }, "\(indexBytes) vs every column \(all.indexBytes)")
        // inverted_index_columns: `has` on an indexed column gets exact rows, on another none.
        let (reader, _, _, _) = try await writeAndOpen(TLMFormat(), batches, options: ["block_rows": "100", "inverted_index_columns": "service"])
        let (onService, _) = try await reader.pruneBlocks(.hasTerm(column: "service", "auth"))
        let (onMsg, _) = try await reader.pruneBlocks(.hasTerm(column: "msg", "timeout"))
        #expect(!onService.rowSelections.isEmpty)
        #expect(onMsg.rowSelections.isEmpty && onMsg.blocks.count == reader.blockCount)
    }

    /// TLM's posting pages (version 4): with a 1,500-term vocabulary a block's index spans many
    /// pages; `has` for terms in every page, before the first, between two and after the last
    /// selects exactly the rows a term scan finds.
    @Test func tlmPagedPostingsAnswerLikeATermScan() async throws {
        var g = SplitMix64(seed: 77)
        let rows = 12_000  // blocks of 8,000 and 4,000 rows: terms stay under half the rows, so indexed
        var time = ColumnBuilder(.timestamp), msg = ColumnBuilder(.string)
        for row in 0..<rows {
            try time.append(.timestamp(Int64(row)))
            try msg.append(.string((0..<3).map { _ in "t\(1000 + g.next() % 1500)" }.joined(separator: " ")))
        }
        let batch = try ColumnBatch(rowCount: rows, columns: [("_time", time.finish()), ("msg", msg.finish())])
        let (reader, _, _, _) = try await writeAndOpen(TLMFormat(), [batch], options: ["block_rows": "8000", "bloom": "false"])
        #expect(reader.indexBytes > 4 * 4_096, "the index spans several pages")
        let blocks = try await reader.read(blocks: BlockSelection(blocks: Array(0..<reader.blockCount)), columns: nil, rowSelections: nil)
        let probes = stride(from: 1000, to: 2500, by: 23).map { "t\($0)" } + ["a", "t1", "t10000", "t1499x", "zzz", "T2499"]
        for term in probes {
            let predicate = BlockPredicate.hasTerm(column: "msg", term)
            let (selection, _) = try await reader.pruneBlocks(predicate)
            for (index, block) in blocks.enumerated() {
                let matching = (0..<block.rowCount).filter { predicate.matches(block, row: $0) }.map(UInt32.init)
                if matching.isEmpty {
                    #expect(!selection.blocks.contains(index), "'\(term)' kept block \(index) with no match")
                } else {
                    #expect(selection.rowSelections[index] == matching, "'\(term)' in block \(index)")
                }
            }
        }
        // Two terms at once (pages of both fetched): `or` unions, `and` intersects.
        let either = BlockPredicate.or([.hasTerm(column: "msg", "t1000"), .hasTerm(column: "msg", "t2400")])
        let (selection, _) = try await reader.pruneBlocks(either)
        for (index, block) in blocks.enumerated() {
            let matching = (0..<block.rowCount).filter { either.matches(block, row: $0) }.map(UInt32.init)
            #expect((selection.rowSelections[index] ?? []) == matching)
        }
    }

    @Test func registryPicksTheFormatFromItsTail() async throws {
        let store = try LocalFileSystemObjectStore(root: TestServices.makeTemporaryDirectory("kyma-registry"))
        let key = try ObjectKey("not-an-extent")
        try await store.put(key, Array("just some bytes that are long enough".utf8))
        do {
            _ = try await allFormats.open(store: store, key: key, size: 36)
            Issue.record("opened a non-extent")
        } catch {
            guard case .unknownFormat = error else { Issue.record("got \(error)"); return }
        }
    }

    @Test func badOptionsAreTypedErrors() {
        for under in formatsUnderTest {
            for options in under.badOptions {
                #expect(throws: FormatError.self, "\(under.format.name) \(options)") { try under.format.makeWriter(schema: RandomData.schema, options: FormatOptions(options)) }
            }
        }
    }

    @Test func schemaMismatchesAreTypedErrors() throws {
        for format in formatsUnderTest.map(\.format) {
            let writer = try format.makeWriter(schema: RandomData.schema, options: FormatOptions())
            let wrongType = try ColumnBatch(rowCount: 1, columns: [("status", Column(.string(offsets: [0, 1], bytes: [65])))])
            #expect(throws: FormatError.self) { try writer.append(wrongType) }
            let unknown = try ColumnBatch(rowCount: 1, columns: [("nope", Column(.int64([1])))])
            #expect(throws: FormatError.self) { try writer.append(unknown) }
        }
    }
}
