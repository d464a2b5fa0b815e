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
    /// Ingests `input` in parts of at most `linesPerPart` lines, each committed on its own, in
    /// order (bounded memory for large inputs; one part is atomic). With a `batchID` the input is
    /// one client batch: a retry of the same bytes commits only the lines not yet committed (a
    /// whole retry is `.alreadyCommitted`), and other bytes under the id are refused with
    /// `CatalogError.batchMismatch`. Creates the table when missing. Skipped lines are numbered
    /// from 1 at the start of `input`.
    public func ingest(_ input: [UInt8], into table: String, batchID: String?, linesPerPart: Int = .max, options: IngestOptions,
                       defaultFormat: String = "tlm", nowNanos: Int64) async throws(IngestError) -> IngestReport {
        let lines = LineIndex(input)
        guard lines.count > 0 else { return IngestReport() }
        var runs = [1...lines.count]
        var digest = ""
        if let batchID {
            digest = SHA256.hexDigest(input)
            _ = try await ensureTable(table, defaultFormat: defaultFormat, timeField: options.timeField)
            let progress: BatchProgress
            do { progress = try await catalog.beginBatch(table: table, batchID: batchID, inputDigests: [digest]) } catch { throw .catalog(error) }
            runs = progress.uncommitted(inputDigest: digest, lineCount: lines.count)
        }
        let step = max(1, linesPerPart)
        let parts = runs.flatMap { run in
            stride(from: run.lowerBound, through: run.upperBound, by: step).map { $0...($0 + min(step - 1, run.upperBound - $0)) }  // no overflow at step .max
        }
        var report = IngestReport()
        report.outcome = batchID == nil ? .committed : .alreadyCommitted
        for part in parts {
            var partOptions = options
            partOptions.batch = batchID.map { BatchPart(batchID: $0, inputDigest: digest, lines: part) }
            let partReport = try await ingest(lines.bytes(of: part, in: input), into: table, options: partOptions,
                                              defaultFormat: defaultFormat, nowNanos: nowNanos)
            report.rowsWritten += partReport.rowsWritten
            report.extents += partReport.extents
            report.skipped += partReport.skipped.map { LineError(line: $0.line + part.lowerBound - 1, reason: $0.reason) }
            if partReport.outcome == .committed { report.outcome = .committed }
        }
        return report
    }
}
