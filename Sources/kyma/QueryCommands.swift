// `kyma query` and `kyma explain`: a query's text through the configured frontend, the planner's
// pruning cascade and the executor; results as an aligned table, JSON lines or CSV; EXPLAIN
// prints the plan and what each pruning level kept (`--analyze` runs it and adds the costs).

import ArgumentParser
import KymaCatalog
import KymaCore
import KymaExec
import KymaPlan
import KymaPlanner
import KymaRuntime

struct QueryOptions: ParsableArguments {
    @Option(help: "Query language.") var language = "kql"
    @Option(name: .customLong("max-bytes"), help: "Budget: bytes read from the store.") var maxBytes = 64 << 30
    @Option(name: .customLong("max-memory"), help: "Budget: bytes held by aggregations, sorts and distinct.") var maxMemory = 4 << 30
    @Option(help: "Budget: seconds before the query is stopped.") var timeout: Double?
    @Option(help: "Extents scanned at once.") var parallelism = 2
    @Option(name: .customLong("now-nanos"), help: "The query's now() in nanoseconds since the epoch (default: the clock).") var nowNanos: Int64?

    var budget: QueryBudget {
        QueryBudget(maxBytesRead: maxBytes, maxMemoryBytes: maxMemory, timeoutSeconds: timeout, parallelism: parallelism)
    }

    func parse(_ text: String) throws -> LogicalPlan {
        guard let frontend = KymaServices.frontends.frontend(named: language) else {
            printError("unknown query language '\(language)' (have: \(KymaServices.frontends.frontends.map(\.name).joined(separator: ", ")))")
            throw ExitCode.failure
        }
        do {
            return try frontend.parse(text)
        } catch {
            printError(error.description)
            throw ExitCode.failure
        }
    }

    var now: Int64 {
        nowNanos ?? wallClockNanos()
    }
}

struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a query (KQL) and print its rows.")
    @OptionGroup var services: ServiceOptions
    @OptionGroup var options: QueryOptions
    @Option(help: "table (aligned columns), json (JSON lines, timestamps RFC 3339 UTC) or csv.") var format = "table"
    @Argument(help: "The query text.") var text: String

    func run() async throws {
        guard ["table", "json", "csv"].contains(format) else {
            printError("--format must be table, json or csv, not '\(format)'")
            throw ExitCode.failure
        }
        let logical = try options.parse(text)
        let opened = try await services.open()
        do {
            let (result, _) = try await opened.planner().run(logical, nowNanos: options.now, budget: options.budget)
            ResultPrinter.print(result, format: format)
        } catch {
            printError(error.description)
            throw ExitCode.failure
        }
    }
}

struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a query's plan and what each pruning level kept; --analyze also runs it.")
    @OptionGroup var services: ServiceOptions
    @OptionGroup var options: QueryOptions
    @Flag(help: "Run the query and report rows, bytes and time per level.") var analyze = false
    @Option(help: "text or json (the profile as one JSON object).") var format = "text"
    @Argument(help: "The query text.") var text: String

    func run() async throws {
        let logical = try options.parse(text)
        let opened = try await services.open()
        do {
            let planner = opened.planner()
            let planned: PlannedQuery
            if analyze {
                planned = try await planner.run(logical, nowNanos: options.now, budget: options.budget, profile: true).1
            } else {
                planned = try await planner.plan(logical, nowNanos: options.now, profile: true)
            }
            if format == "json" {
                print(ExplainPrinter.json(planned.profile))
            } else {
                print(ExplainPrinter.text(planned, analyzed: analyze))
            }
        } catch {
            printError(error.description)
            throw ExitCode.failure
        }
    }
}

enum ResultPrinter {
    static func print(_ result: QueryResult, format: String) {
        var out = ""
        switch format {
        case "json":
            for row in result.rows { out += JSONRow.render(names: result.names, values: row) + "\n" }
        case "csv":
            out += result.names.map(csvField).joined(separator: ",") + "\n"
            for row in result.rows { out += row.map { csvField(text($0)) }.joined(separator: ",") + "\n" }
        default:
            let rows = result.rows.map { $0.map(text) }
            var widths = result.names.map(\.count)
            for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
            func line(_ cells: [String]) -> String {
                zip(cells, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: "  ")
                    .reversed().drop { $0 == " " }.reversed().map(String.init).joined()
            }
            out += line(result.names) + "\n"
            out += line(widths.map { String(repeating: "-", count: $0) }) + "\n"
            for row in rows { out += line(row) + "\n" }
            out += "(\(rows.count) row\(rows.count == 1 ? "" : "s"))\n"
        }
        Swift.print(out, terminator: "")
    }

    static func text(_ value: ScalarValue) -> String {
        switch value {
        case .null: ""
        case .string(let s): s
        case .timestamp(let t): TimeText.rfc3339(t)
        case .float64(let v): NumberText.real(v)
        default: JSONValue.render(value)
        }
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }
}

enum ExplainPrinter {
    static func text(_ planned: PlannedQuery, analyzed: Bool) -> String {
        let p = planned.profile
        func ratio(_ kept: Int, _ total: Int) -> String {
            total == 0 ? "" : "  (\(formatPercent(Double(total - kept) / Double(total))) pruned)"
        }
        var lines: [String] = []
        lines.append("Logical plan:")
        lines.append("  " + planned.logical.description.split(separator: "\n").joined(separator: "\n  "))
        lines.append("Pushed to the catalog: \(describe(planned.catalogFilter))")
        lines.append("Pushed to footers and blocks: \(planned.pushedPredicate)")
        lines.append("Physical plan: \(planned.physical.scans.count) scan task(s) on node local, order \(planned.physical.scanOrder), columns \(planned.physical.columns.map { $0.joined(separator: ", ") } ?? "all")")
        if let filter = planned.physical.scanFilter { lines.append("  scan filter: \(filter)") }
        for op in planned.physical.pipeline { lines.append("  then: \(op)") }
        lines.append("Pruning cascade:")
        lines.append("  1 catalog        extents \(p.extentsTotal) -> \(p.extentsAfterCatalog)\(ratio(p.extentsAfterCatalog, p.extentsTotal))  [\(ms(p.catalogMillis))]")
        lines.append("  2 extent footers extents \(p.extentsAfterCatalog) -> \(p.extentsAfterFooters)\(ratio(p.extentsAfterFooters, p.extentsAfterCatalog))  [\(ms(p.footerMillis)), \(p.footerBytesRead) bytes]")
        lines.append("    blocks \(p.blocksTotal) -> stats \(p.blocksAfterStats) -> bloom \(p.blocksAfterBloom) -> path bitmaps \(p.blocksAfterPathBitmaps)")
        lines.append("  3 blocks / index blocks \(p.blocksAfterPathBitmaps) -> \(p.blocksAfterIndex)\(ratio(p.blocksAfterIndex, p.blocksTotal)) of all blocks")
        if analyzed {
            lines.append("  4 decode + execute")
            lines.append("    blocks read \(p.blocksRead)\(p.extentsSkippedByOrder > 0 ? ", \(p.extentsSkippedByOrder) extents skipped by time order" : "")\(p.stoppedEarly ? ", stopped early (limit reached)" : "")")
            lines.append("    rows: table \(p.rowsTotal), decoded \(p.rowsDecoded), matched \(p.rowsMatched), returned \(p.rowsReturned)")
            lines.append("    bytes from the object store: \(p.footerBytesRead + p.dataBytesRead) of \(p.bytesTotal)\(p.bytesTotal > 0 ? " (\(formatPercent(Double(p.footerBytesRead + p.dataBytesRead) / Double(p.bytesTotal))))" : "") (footers \(p.footerBytesRead), data \(p.dataBytesRead))")
            lines.append("    time: execute \(ms(p.executionMillis)), total \(ms(p.totalMillis))")
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ filter: ExtentFilter) -> String {
        var parts: [String] = []
        if let range = filter.timeRange {
            parts.append("time in [\(range.lowerNanos == .min ? "-inf" : TimeText.rfc3339(range.lowerNanos)), \(range.upperNanos == .max ? "+inf" : TimeText.rfc3339(range.upperNanos))]")
        }
        for condition in filter.columnConditions {
            parts.append("\(condition.column) in [\(condition.lower.map(ResultPrinter.text) ?? "-inf"), \(condition.upper.map(ResultPrinter.text) ?? "+inf")]")
        }
        if !filter.requiredPaths.isEmpty { parts.append("present paths \(filter.requiredPaths.joined(separator: ", "))") }
        return parts.isEmpty ? "nothing (every extent of the table)" : parts.joined(separator: "; ")
    }

    static func ms(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return "\(rounded) ms"
    }

    static func formatPercent(_ fraction: Double) -> String {
        let value = (fraction * 10000).rounded() / 100
        return "\(value)%"
    }

    static func json(_ profile: QueryProfile) -> String {
        let mirror = Mirror(reflecting: profile)
        var parts: [String] = []
        for child in mirror.children {
            guard let label = child.label else { continue }
            let value: String
            switch child.value {
            case let v as Int: value = String(v)
            case let v as Double: value = String(v)
            case let v as Bool: value = v ? "true" : "false"
            default: continue
            }
            parts.append(JSONText.quote(label) + ":" + value)
        }
        return "{" + parts.joined(separator: ",") + "}"
    }
}
