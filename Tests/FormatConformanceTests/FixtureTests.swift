// Extents written by past format versions stay readable. Fixtures/tlm-v2.tlm was written by
// TLM version 2 (version 1, never released, kept its indexes inside the footer) and Fixtures/tlm-v2.expected.json holds its rows (as ScalarValue JSON), so
// this test does not depend on the writer or the generator that made them.
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

    @Test func version2ExtentIsReadable() async throws {
        let extentPath = Self.fixtures + "/tlm-v2.tlm", expectedPath = Self.fixtures + "/tlm-v2.expected.json"
        if ProcessInfo.processInfo.environment["KYMA_WRITE_FIXTURES"] == "1" {
            var data = RandomData(seed: 2026)
            let batches = [data.batch(rows: 100, startTime: 1_700_000_000_000_000_000)]
            let writer = try TLMFormat().makeWriter(schema: RandomData.schema, options: FormatOptions(["block_rows": "32"]))
            for batch in batches { try writer.append(batch) }
            try Data(try writer.finish().bytes).write(to: URL(fileURLWithPath: extentPath))
            try JSONEncoder().encode(expectedRows(batches)).write(to: URL(fileURLWithPath: expectedPath))
        }
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: extentPath)))
        let expected = try JSONDecoder().decode([[ScalarValue]].self, from: Data(contentsOf: URL(fileURLWithPath: expectedPath)))
        let store = try LocalFileSystemObjectStore(root: TestServices.makeTemporaryDirectory("kyma-fixture"))
        let key = try ObjectKey("fixtures/tlm-v2.tlm")
        try await store.put(key, bytes)
        let reader = try await allFormats.open(store: store, key: key, size: bytes.count)
        #expect(reader.schema == RandomData.schema)
        #expect(reader.blockCount == 4)
        let decoded = try await reader.read(blocks: BlockSelection(blocks: Array(0..<reader.blockCount)), columns: nil, rowSelections: nil)
        let difference = firstDifference(decodedRows(decoded), expected)
        #expect(difference == nil, "\(difference ?? "")")
        #expect(expected.count == 100)
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
