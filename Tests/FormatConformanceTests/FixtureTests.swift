// Extents written by past format versions stay readable. Fixtures/tlm-vN.tlm was written by
// TLM version N (version 1, never released, kept its indexes inside the footer) and
// Fixtures/tlm-vN.expected.json holds its rows (as ScalarValue JSON), so this test does not
// depend on the writer or the generator that made them.
// To add a fixture for a new version: KYMA_WRITE_FIXTURES=1 swift test --filter FixtureTests

import Foundation
import Testing
import KymaCore
import KymaFormat
import KymaFormatTLM
import KymaObjectStore
import KymaObjectStoreLocal
import KymaTestSupport

@Suite("Format fixtures")
struct FixtureTests {
    static var fixtures: String { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path }

    /// Every released version's fixture reads back its rows; the current version's is rewritten
    /// with `KYMA_WRITE_FIXTURES=1` (older ones never are).
    @Test(arguments: [2, 3, 4])
    func releasedVersionIsReadable(_ version: Int) async throws {
        let name = "tlm-v\(version)"
        let extentPath = Self.fixtures + "/\(name).tlm", expectedPath = Self.fixtures + "/\(name).expected.json"
        if ProcessInfo.processInfo.environment["KYMA_WRITE_FIXTURES"] == "1", version == TLMFormat().version {
            var data = RandomData(seed: 2026)
            let batches = [data.batch(rows: 100, startTime: 1_700_000_000_000_000_000)]
            let writer = try TLMFormat().makeWriter(schema: RandomData.schema, options: FormatOptions(["block_rows": "32"]))
            for batch in batches { try writer.append(batch) }
            try Data(try writer.finish().bytes).write(to: URL(fileURLWithPath: extentPath))
            try JSONEncoder().encode(expectedRows(batches)).write(to: URL(fileURLWithPath: expectedPath))
        }
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: extentPath)))
        #expect(Array(bytes.prefix(6)) == Array("KTLM".utf8) + [UInt8(version), 0], "the fixture is version \(version)")
        let expected = try JSONDecoder().decode([[ScalarValue]].self, from: Data(contentsOf: URL(fileURLWithPath: expectedPath)))
        let store = try LocalFileSystemObjectStore(root: TestServices.makeTemporaryDirectory("kyma-fixture"))
        let key = try ObjectKey("fixtures/\(name).tlm")
        try await store.put(key, bytes)
        let reader = try await allFormats.open(store: store, key: key, size: bytes.count)
        #expect(reader.schema == RandomData.schema)
        #expect(reader.blockCount == 4)
        let decoded = try await reader.read(blocks: BlockSelection(blocks: Array(0..<reader.blockCount)), columns: nil, rowSelections: nil)
        let difference = firstDifference(decodedRows(decoded), expected)
        #expect(difference == nil, "\(difference ?? "")")
        #expect(expected.count == 100)
    }

    /// The fixture with its version set to `version` in the header (offset 4) and/or the tail
    /// (6 bytes from the end). The footer checksum does not cover either.
    static func withVersion(_ bytes: [UInt8], header: UInt16?, tail: UInt16?) -> [UInt8] {
        var copy = bytes
        if let header { copy[4] = UInt8(header & 0xFF); copy[5] = UInt8(header >> 8) }
        if let tail { copy[copy.count - 6] = UInt8(tail & 0xFF); copy[copy.count - 5] = UInt8(tail >> 8) }
        return copy
    }

    /// Opens `bytes` the way a large extent is opened: from a suffix that does not reach the
    /// header, so only the read of the first chunk sees it.
    static func readFromSuffix(_ bytes: [UInt8], key: ObjectKey) async throws -> [ColumnBatch] {
        let store = SingleObjectStore()
        try await store.put(key, bytes)
        let reader = try await TLMFormat().openExtent(store: store, key: key, size: bytes.count, tail: Array(bytes.suffix(bytes.count - 100)))
        return try await reader.read(blocks: BlockSelection(blocks: Array(0..<reader.blockCount)), columns: nil, rowSelections: nil)
    }

    @Test func headerAndTailVersionsAreChecked() async throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/tlm-v3.tlm")))
        let key = try ObjectKey("fixtures/versions.tlm")
        // A future version in both places: refused, naming the object and where it says so.
        #expect(throws: FormatError.unsupportedVersion(key: key.rawValue, offset: bytes.count - 6, format: "tlm", version: 9)) {
            _ = try TLMFormat.inspect(extent: Self.withVersion(bytes, header: 9, tail: 9), key: key.rawValue)
        }
        // The header disagreeing with the tail, or a damaged magic: corrupt at the header, whether
        // the whole object was fetched at open or only the first chunk's read reaches offset 0.
        let mismatched = Self.withVersion(bytes, header: 2, tail: nil)
        var badMagic = bytes
        badMagic[1] ^= 0x20
        for (damaged, offset) in [(mismatched, 4), (badMagic, 0)] {
            #expect(throws: FormatError.self) { _ = try TLMFormat.inspect(extent: damaged, key: key.rawValue) }
            do {
                _ = try await Self.readFromSuffix(damaged, key: key)
                Issue.record("a damaged header was read without an error")
            } catch let error as FormatError {
                guard case .corrupt(let k, let at, _) = error else { Issue.record("\(error)"); continue }
                #expect(k == key.rawValue && at == offset)
            }
        }
        // The undamaged fixture reads from a suffix too (the header check passes).
        #expect(try await Self.readFromSuffix(bytes, key: key).reduce(0) { $0 + $1.rowCount } == 100)
    }

    /// Inputs the footer fuzzer once crashed on: each must now be a typed error.
    @Test func fuzzRegressionsAreTypedErrors() throws {
        let directory = Self.fixtures + "/fuzz-regressions"
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(!names.isEmpty)
        for name in names {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
            #expect(throws: FormatError.self, "\(name)") { _ = try TLMFormat.inspect(extent: bytes, key: name, verifyChecksum: false) }
        }
    }
}
