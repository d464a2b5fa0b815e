// Lines of an input by number, the unit client batches are keyed by.

import KymaCatalog
import KymaCore

/// Where each line of an input starts: lines end at LF (a CR before it stays part of the
/// line for the parser to drop); a last line without LF counts.
public struct LineIndex: Sendable {
    private var starts: [Int] = []
    private let byteCount: Int

    public init(_ bytes: [UInt8]) {
        byteCount = bytes.count
        if !bytes.isEmpty { starts.append(0) }
        for (index, byte) in bytes.enumerated() where byte == 0x0A && index + 1 < bytes.count { starts.append(index + 1) }
    }

    public var count: Int { starts.count }

    /// The bytes of lines `lines` (1-based, inclusive).
    public func bytes(of lines: ClosedRange<Int>, in bytes: [UInt8]) -> [UInt8] {
        guard lines.lowerBound >= 1, lines.lowerBound <= starts.count else { return [] }
        let end = lines.upperBound < starts.count ? starts[lines.upperBound] : byteCount
        return Array(bytes[starts[lines.lowerBound - 1]..<end])
    }
}

extension LogIngestor {
    /// Ingests `input` as one client batch: a retry of the same bytes under `batchID` is a
    /// no-op (`.alreadyCommitted`), and other bytes under it are refused with
    /// `CatalogError.batchMismatch`. Creates the table when missing.
    public func ingest(_ input: [UInt8], into table: String, batchID: String, options: IngestOptions,
                       defaultFormat: String = "tlm", nowNanos: Int64) async throws(IngestError) -> IngestReport {
        let lines = LineIndex(input)
        guard lines.count > 0 else { return IngestReport() }
        let digest = SHA256.hexDigest(input)
        _ = try await ensureTable(table, defaultFormat: defaultFormat, timeField: options.timeField)
        let progress: BatchProgress
        do { progress = try await catalog.beginBatch(table: table, batchID: batchID, inputDigests: [digest]) } catch { throw .catalog(error) }
        var report = IngestReport()
        report.outcome = .alreadyCommitted
        for run in progress.uncommitted(inputDigest: digest, lineCount: lines.count) {
            var part = options
            part.batch = BatchPart(batchID: batchID, inputDigest: digest, lines: run)
            let partReport = try await ingest(lines.bytes(of: run, in: input), into: table, options: part,
                                              defaultFormat: defaultFormat, nowNanos: nowNanos)
            report.rowsWritten += partReport.rowsWritten
            report.extents += partReport.extents
            report.skipped += partReport.skipped.map { LineError(line: $0.line + run.lowerBound - 1, reason: $0.reason) }
            if partReport.outcome == .committed { report.outcome = .committed }
        }
        return report
    }
}
