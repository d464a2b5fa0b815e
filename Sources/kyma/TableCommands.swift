// `kyma table create|list|drop` and `kyma ingest`.

import ArgumentParser
import KymaCatalog
import KymaCore
import KymaFormat
import KymaIngest
import KymaObjectStore
import KymaRuntime

#if canImport(Glibc)
import Glibc
#endif

struct Table: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create, list, scan and drop tables.", subcommands: [Create.self, List.self, Scan.self, Drop.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a table with a segment format and its options.")
        @OptionGroup var services: ServiceOptions
        @Argument(help: "Table name.") var name: String
        @Option(help: "Segment format: tlm or parquet.") var format = "tlm"
        @Option(name: .customLong("option"), help: "A format option NAME=VALUE (repeatable), e.g. block_rows=8192, codec=lz4.")
        var options: [String] = []
        @Option(name: .customLong("time-column"), help: "The column holding each row's time (ingest with --time-field of the same name); default _time, the ingest time.")
        var timeColumn: String?

        func run() async throws {
            let opened = try await services.open()
            guard let segmentFormat = opened.formats.format(named: format) else {
                printError("unknown format '\(format)' (known: \(opened.formats.formats.map(\.name).joined(separator: ", ")))")
                throw ExitCode.failure
            }
            var values: [String: String] = [:]
            for option in options {
                let parts = option.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { printError("option '\(option)' is not NAME=VALUE"); throw ExitCode.failure }
                values[String(parts[0])] = String(parts[1])
            }
            do {
                _ = try segmentFormat.makeWriter(schema: .empty, options: FormatOptions(values))  // validates the options
                let table = try await opened.catalog.createTable(TableDefinition(name: name, formatName: format, options: values, timeColumn: timeColumn))
                print("created table \(table.name) (format \(format)\(values.isEmpty ? "" : ", " + values.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: ", ")))")
            } catch let error as FormatError {
                printError(error.description); throw ExitCode.failure
            } catch let error as CatalogError {
                printError(error.description); throw ExitCode.failure
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tables with their extents and rows.")
        @OptionGroup var services: ServiceOptions

        func run() async throws {
            let opened = try await services.open()
            do {
                for table in try await opened.catalog.tables() {
                    let extents = try await opened.catalog.extents(table: table.name, matching: .all)
                    print("\(table.name)  format=\(table.definition.formatName)  extents=\(extents.count)  rows=\(extents.reduce(0) { $0 + $1.rowCount })  bytes=\(extents.reduce(0) { $0 + $1.byteSize })")
                }
            } catch {
                printError("\(error)"); throw ExitCode.failure
            }
        }
    }

    struct Drop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop a table and delete its extents' objects.")
        @OptionGroup var services: ServiceOptions
        @Argument var name: String

        func run() async throws {
            let opened = try await services.open()
            do {
                let extents = try await opened.catalog.extents(table: name, matching: .all)
                try await opened.catalog.dropTable(named: name)  // invisible first, then the objects go
                for extent in extents { try? await opened.store.delete(try ObjectKey(extent.objectKey)) }
                print("dropped table \(name) (\(extents.count) extents)")
            } catch {
                printError("\(error)"); throw ExitCode.failure
            }
        }
    }
}

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ingest JSON lines or text lines into a table (created when missing). Acknowledged rows are durable.")
    @OptionGroup var services: ServiceOptions
    @Option(help: "Table name.") var table: String
    @Option(name: .customLong("time-field"), help: "The field holding each row's time (else the ingest time, as _time).") var timeField: String?
    @Option(name: .customLong("time-format"), help: "rfc3339, epoch_s, epoch_ms, epoch_us or epoch_ns.") var timeFormat = "rfc3339"
    @Option(help: "json (one object per line) or text (one _msg per line).") var input = "json"
    @Option(name: .customLong("on-error"), help: "reject: a bad line rejects the file; skip: bad lines are reported and left out.")
    var onError = "reject"
    @Option(name: .customLong("batch-id"), help: "Client batch id: retrying with the same id is a no-op.") var batchID: String?
    @Option(name: .customLong("lines-per-batch"), help: "Lines per committed batch.") var linesPerBatch = 200_000
    @Argument(help: "Files to ingest.") var files: [String]

    func run() async throws {
        guard let format = TimeFormat(rawValue: timeFormat) else { printError("unknown --time-format '\(timeFormat)'"); throw ExitCode.failure }
        guard let kind = InputKind(rawValue: input) else { printError("unknown --input '\(input)' (json or text)"); throw ExitCode.failure }
        guard let policy = OnError(rawValue: onError) else { printError("unknown --on-error '\(onError)' (reject or skip)"); throw ExitCode.failure }
        let opened = try await services.open()
        guard LocalRouter().route(table: table, batchID: batchID) == .local else {
            printError("this node does not ingest table '\(table)'")
            throw ExitCode.failure
        }
        let ingestor = LogIngestor(catalog: opened.catalog, store: opened.store, formats: opened.formats)
        var total = 0, skipped = 0, extents = 0
        let start = monotonicNanos()
        for file in files {
            guard let bytes = LocalFile.readAll(file) else { printError("cannot read '\(file)'"); throw ExitCode.failure }
            let chunks = splitLines(bytes, linesPerChunk: max(1, linesPerBatch))
            for (index, chunk) in chunks.enumerated() {
                var options = IngestOptions()
                options.kind = kind
                options.timeField = timeField
                options.timeFormat = format
                options.onError = policy
                options.batchID = batchID.map { chunks.count == 1 && files.count == 1 ? $0 : "\($0)/\(file)/\(index)" }
                do {
                    let report = try await ingestor.ingest(chunk.bytes, into: table, options: options, nowNanos: wallClockNanos())
                    total += report.rowsWritten
                    extents += report.extents.count
                    skipped += report.skipped.count
                    for error in report.skipped.prefix(20) { printError("\(file): line \(error.line + chunk.firstLine - 1): \(error.reason) (skipped)") }
                    if report.outcome == .alreadyCommitted { print("\(file): batch already committed; nothing written") }
                } catch {
                    if case .rejected(let errors) = error {
                        for line in errors.prefix(20) { printError("\(file): line \(line.line + chunk.firstLine - 1): \(line.reason)") }
                        printError("\(file): rejected (\(errors.count) bad line(s)); nothing from this batch was written; use --on-error skip to leave bad lines out")
                    } else {
                        printError(error.description)
                    }
                    throw ExitCode.failure
                }
                let seconds = Double(monotonicNanos() - start) / 1e9
                if chunks.count > 1 {
                    print("\(file): batch \(index + 1)/\(chunks.count), \(total) rows, \(Int(Double(total) / max(seconds, 1e-9))) rows/s")
                }
            }
        }
        print("ingested \(total) rows into \(table) as \(extents) extent(s)\(skipped > 0 ? ", skipped \(skipped) bad line(s)" : "")")
    }
}

struct LineChunk {
    var bytes: [UInt8]
    var firstLine: Int
}

/// Splits input into chunks of whole lines, remembering each chunk's first line number.
func splitLines(_ bytes: [UInt8], linesPerChunk: Int) -> [LineChunk] {
    var chunks: [LineChunk] = []
    var start = 0, lines = 0, firstLine = 1
    for (index, byte) in bytes.enumerated() where byte == 0x0A {
        lines += 1
        if lines == linesPerChunk {
            chunks.append(LineChunk(bytes: Array(bytes[start...index]), firstLine: firstLine))
            start = index + 1
            firstLine += lines
            lines = 0
        }
    }
    if start < bytes.count { chunks.append(LineChunk(bytes: Array(bytes[start...]), firstLine: firstLine)) }
    return chunks
}

func wallClockNanos() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

func monotonicNanos() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}
