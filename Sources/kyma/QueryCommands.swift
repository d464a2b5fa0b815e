// `kyma query` and `kyma explain`: query text through the query service (frontend, optimizer,
// table source, executor); rows as an aligned table, JSON lines or CSV, streamed as they are
// produced; EXPLAIN prints the prepared plan and what each pruning level kept (`--analyze` runs
// it and adds the costs). Failures exit with the status of their kind (docs/kql.md).

import ArgumentParser
import Foundation
import KymaCore
import KymaExec
import KymaPlan
import KymaQueryService
import KymaRuntime

struct QueryOptions: ParsableArguments {
    @Option(name: [.customLong("lang"), .customLong("language")], help: "Query language: kql, sql, or auto (told by the text).") var language = "auto"
    @Option(name: .customLong("max-bytes"), help: "Budget: bytes read from the store.") var maxBytes = 64 << 30
    @Option(name: .customLong("max-memory"), help: "Budget: bytes held by aggregations, sorts and distinct.") var maxMemory = 4 << 30
    @Option(help: "Budget: seconds before the query is stopped (catalog queries included).") var timeout: Double?
    @Option(help: "Extents scanned at once.") var parallelism = 2
    @Option(name: .customLong("now-nanos"), help: "The query's now() in nanoseconds since the epoch (default: the clock).") var nowNanos: Int64?

    func validate() throws {
        guard maxBytes > 0, maxMemory > 0 else { throw ValidationError("--max-bytes and --max-memory must be positive") }
        guard parallelism >= 1, parallelism <= 256 else { throw ValidationError("--parallelism must be 1...256, not \(parallelism)") }
        if let timeout, !(timeout > 0 && timeout.isFinite) { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    var budget: QueryBudget {
        QueryBudget(maxBytesRead: maxBytes, maxMemoryBytes: maxMemory, timeoutSeconds: timeout, parallelism: parallelism)
    }

    var now: Int64 { nowNanos ?? wallClockNanos() }

    func request(_ text: String) -> QueryRequest {
        QueryRequest(text: text, language: language, budget: budget, nowNanos: now)
    }
}

/// Prints the error and exits with the status of its kind.
func fail(_ error: QueryError) -> ExitCode {
    printError(error.description)
    return ExitCode(error.kind.exitStatus)
}

struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a query (KQL or SQL) and print its rows.",
        discussion: "With --batch FILE, every line of FILE is a query; each answer is one JSON line {\"query\": N, \"names\": [...], \"rows\": [[...]]} or {\"query\": N, \"error\": {\"kind\": ..., \"message\": ...}}.")
    @OptionGroup var services: ServiceOptions
    @OptionGroup var options: QueryOptions
    @Option(help: "table (aligned columns), json (JSON lines, datetimes RFC 3339 UTC) or csv.") var format = "table"
    @Option(help: "Run every line of this file as a query, in one process.") var batch: String?
    @Argument(help: "The query text.") var text: String?

    func validate() throws {
        guard ResultFormat(rawValue: format) != nil else { throw ValidationError("--format must be table, json or csv, not '\(format)'") }
        guard (text == nil) != (batch == nil) else { throw ValidationError("give the query text or --batch FILE") }
    }

    func run() async throws {
        let service = try await services.open().queryService()
        if let batch {
            try await runBatch(service, path: batch)
            return
        }
        let request = options.request(text ?? "")
        let format = ResultFormat(rawValue: format) ?? .table
        do {
            if format == .table {
                switch try await service.execute(request) {
                case .rows(let result, _): print(ResultFormat.table(result), terminator: "")
                case .explanation(let explanation): print(explanation.text)
                }
                return
            }
            if case .explain = try service.parse(request.text, language: request.language).statement {
                guard case .explanation(let explanation) = try await service.execute(request) else { return }
                print(explanation.text)
                return
            }
            let out = StandardOutput()
            _ = try await service.stream(request) { names in
                out.write(format.header(names))
                out.names = names
            } batch: { batch in
                out.write(format.rows(batch, names: out.names))
            }
            out.flush()
        } catch {
            throw fail(error)
        }
    }

    func runBatch(_ service: QueryService, path: String) async throws {
        guard let bytes = LocalFile.readAll(path) else { throw ValidationError("cannot read '\(path)'") }
        let out = StandardOutput()
        for (number, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { continue }
            var answer = "{\"query\":\(number + 1),"
            do {
                switch try await service.execute(options.request(text)) {
                case .rows(let result, _):
                    answer += "\"names\":[" + result.names.map(JSONText.quote).joined(separator: ",") + "],\"rows\":["
                    answer += result.rows.map { "[" + $0.map(JSONValue.render).joined(separator: ",") + "]" }.joined(separator: ",") + "]}"
                case .explanation(let explanation):
                    answer += "\"explanation\":" + JSONText.quote(explanation.text) + "}"
                }
            } catch {
                answer += "\"error\":{\"kind\":\"\(error.kind.rawValue)\",\"message\":" + JSONText.quote(error.description) + "}}"
            }
            out.write(answer + "\n")
        }
        out.flush()
    }
}

/// Standard output written in large pieces (results can be millions of rows).
final class StandardOutput: @unchecked Sendable {
    // Used by one query's sink at a time.
    var buffer: [UInt8] = []
    var names: [String] = []

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}

struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a query's plan and what each pruning level kept; --analyze also runs it.")
    @OptionGroup var services: ServiceOptions
    @OptionGroup var options: QueryOptions
    @Flag(help: "Run the query and report rows, bytes and time per level.") var analyze = false
    @Option(help: "text or json (the profile as one JSON object).") var format = "text"
    @Option(help: "Run it this many times in this one process (warm catalog connections and footer cache, as a server has), printing each.")
    var runs = 1
    @Argument(help: "The query text.") var text: String

    func validate() throws {
        guard format == "text" || format == "json" else { throw ValidationError("--format must be text or json, not '\(format)'") }
        guard runs >= 1, runs <= 10_000 else { throw ValidationError("--runs must be 1...10000, not \(runs)") }
    }

    func run() async throws {
        let service = try await services.open().queryService()
        do {
            let (language, statement) = try service.parse(text, language: options.language)
            var analyze = self.analyze
            if case .explain(_, let asked) = statement { analyze = analyze || asked }
            for _ in 0..<runs {
                let explanation = try await service.explain(statement.plan, language: language, analyze: analyze, budget: options.budget, nowNanos: options.now)
                print(format == "json" ? explanation.profile.json : explanation.text)
            }
        } catch {
            throw fail(error)
        }
    }
}
