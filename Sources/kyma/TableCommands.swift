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
    static let configuration = CommandConfiguration(abstract: "Create, list, scan and drop tables.", subcommands: [Create.self, Alter.self, List.self, Scan.self, Decode.self, PublishIceberg.self, Drop.self])

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

    struct PublishIceberg: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "publish-iceberg",
            abstract: "Publish a table's rows as an Iceberg table (created on first use); again after ingests or a compaction to bring it up to date.")
        @OptionGroup var services: ServiceOptions
        @OptionGroup var icebergCatalog: IcebergCatalogOptions
        @Argument(help: "Table name.") var name: String
        @Option(name: .customLong("as"), help: "NAMESPACE.TABLE of the Iceberg table (default kyma.<table>).") var target: String?

        func run() async throws {
            let opened = try await services.open()
            try await reporting {
                let identifier = try Iceberg.identifier(target ?? "kyma.\(name)")
                let tables = try await opened.icebergTables(try icebergCatalog.settings())
                let report = try await opened.publishIceberg(table: name, as: identifier, tables: tables, nowMillis: wallClockNanos() / 1_000_000)
                let location = try await tables.load(identifier).metadataLocation
                if report.snapshotID == nil {
                    print("\(identifier) already mirrors \(name); metadata \(location)")
                } else {
                    print("published \(name) as \(identifier): \(report.addedSources.count) extent(s) added (\(report.rowsWritten) rows, "
                          + "\(report.addedFiles.count) file(s)), \(report.removedSources) removed (\(report.removedFiles.count) file(s)); metadata \(location)")
                }
            }
        }
    }

    struct Alter: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a table's format options. New extents use them; `kyma compact --rewrite` rewrites the existing ones.")
        @OptionGroup var services: ServiceOptions
        @Argument(help: "Table name.") var name: String
        @Option(name: .customLong("option"), help: "A format option NAME=VALUE to set (repeatable).")
        var options: [String] = []
        @Option(name: .customLong("unset"), help: "A format option NAME to remove, back to the format's default (repeatable).")
        var unset: [String] = []

        func run() async throws {
            let opened = try await services.open()
            do {
                guard let table = try await opened.catalog.table(named: name) else { throw CatalogError.tableNotFound(name) }
                guard let segmentFormat = opened.formats.format(named: table.definition.formatName) else {
                    printError("table \(name) has format '\(table.definition.formatName)', which this binary does not know"); throw ExitCode.failure
                }
                var values = table.definition.options
                for option in options {
                    let parts = option.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2 else { printError("option '\(option)' is not NAME=VALUE"); throw ExitCode.failure }
                    values[String(parts[0])] = String(parts[1])
                }
                for option in unset { values[option] = nil }
                _ = try segmentFormat.makeWriter(schema: .empty, options: FormatOptions(values))  // validates the options
                let altered = try await opened.catalog.setTableOptions(named: name, options: values)
                let shown = altered.definition.options.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: ", ")
                print("table \(name) options: \(shown.isEmpty ? "(format defaults)" : shown)")
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
    @Option(name: .customLong("batch-id"), help: ArgumentHelp(
        "Client batch id, keyed by content: a retry with the same files (named any way, cut with any --lines-per-batch) commits only the lines not yet committed; other files under the same id are refused."))
    var batchID: String?
    @Option(name: .customLong("lines-per-batch"), help: "Lines per committed batch (at least 1).") var linesPerBatch = 200_000
    @Argument(help: "Files to ingest.") var files: [String]

    func validate() throws {
        guard linesPerBatch >= 1 else { throw ValidationError("--lines-per-batch must be at least 1, got \(linesPerBatch)") }
        guard !files.isEmpty else { throw ValidationError("name at least one file to ingest") }
    }

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
        // A batch is the set of its files' contents: read (and hash) them all before writing.
        var digests: [String: String] = [:]
        var progress: BatchProgress? = nil
        if let batchID {
            for file in files { digests[file] = SHA256.hexDigest(try Self.read(file)) }
            if let (first, second) = Self.sameContent(files, digests) {
                printError("'\(first)' and '\(second)' hold the same bytes: one batch cannot hold one input twice")
                throw ExitCode.failure
            }
            do {
                _ = try await ingestor.ensureTable(table, timeField: timeField)
                progress = try await opened.catalog.beginBatch(table: table, batchID: batchID, inputDigests: files.compactMap { digests[$0] })
            } catch let error as IngestError {
                printError(error.description); throw ExitCode.failure
            } catch let error as CatalogError {
                printError(error.description); throw ExitCode.failure
            }
        }
        var total = 0, skipped = 0, extents = 0
        let start = monotonicNanos()
        for file in files {
            let bytes = try Self.read(file)
            let lines = LineIndex(bytes)
            guard lines.count > 0 else { print("\(file): empty; nothing to ingest"); continue }
            var runs = [1...lines.count]
            var digest: String? = nil
            if let batchID, let progress, let expected = digests[file] {
                digest = SHA256.hexDigest(bytes)
                guard digest == expected else { printError("'\(file)' changed while it was being ingested"); throw ExitCode.failure }
                runs = progress.uncommitted(inputDigest: expected, lineCount: lines.count)
                if runs.isEmpty { print("\(file): every line is already committed under batch '\(batchID)'; nothing written") }
            }
            let chunks = runs.flatMap { run in
                stride(from: run.lowerBound, through: run.upperBound, by: linesPerBatch).map { $0...min($0 + linesPerBatch - 1, run.upperBound) }
            }
            for (index, chunk) in chunks.enumerated() {
                var options = IngestOptions()
                options.kind = kind
                options.timeField = timeField
                options.timeFormat = format
                options.onError = policy
                options.batch = batchID.flatMap { id in digest.map { BatchPart(batchID: id, inputDigest: $0, lines: chunk) } }
                do {
                    let report = try await ingestor.ingest(lines.bytes(of: chunk, in: bytes), into: table, options: options, nowNanos: wallClockNanos())
                    total += report.rowsWritten
                    extents += report.extents.count
                    skipped += report.skipped.count
                    for error in report.skipped.prefix(20) { printError("\(file): line \(error.line + chunk.lowerBound - 1): \(error.reason) (skipped)") }
                    if report.outcome == .alreadyCommitted {
                        print("\(file): lines \(chunk.lowerBound)-\(chunk.upperBound) were already committed under this batch id; nothing written")
                    }
                } catch {
                    if case .rejected(let errors) = error {
                        for line in errors.prefix(20) { printError("\(file): line \(line.line + chunk.lowerBound - 1): \(line.reason)") }
                        printError("\(file): rejected (\(errors.count) bad line(s)); nothing from lines \(chunk.lowerBound)-\(chunk.upperBound) was written; use --on-error skip to leave bad lines out")
                    } else {
                        printError(error.description)
                    }
                    throw ExitCode.failure
                }
                let seconds = Double(monotonicNanos() - start) / 1e9
                if chunks.count > 1 {
                    // Written once the chunk is committed, unbuffered: a caller may count these lines as durable.
                    printNow("\(file): lines \(chunk.lowerBound)-\(chunk.upperBound) committed (batch \(index + 1)/\(chunks.count)), \(total) rows, \(Int(Double(total) / max(seconds, 1e-9))) rows/s")
                }
            }
        }
        print("ingested \(total) rows into \(table) as \(extents) extent(s)\(skipped > 0 ? ", skipped \(skipped) bad line(s)" : "")")
    }

    static func read(_ file: String) throws -> [UInt8] {
        do {
            return try LocalFile.read(file)
        } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
    }

    /// Two files with the same digest, if any.
    static func sameContent(_ files: [String], _ digests: [String: String]) -> (String, String)? {
        var seen: [String: String] = [:]
        for file in files {
            guard let digest = digests[file] else { continue }
            if let other = seen[digest], other != file { return (other, file) }
            seen[digest] = file
        }
        return nil
    }
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
