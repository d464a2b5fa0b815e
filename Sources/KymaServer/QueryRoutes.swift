// Queries over HTTP, through the one query service:
//   POST /v1/query    {query, lang: kql|sql|auto, format: json|ndjson|csv, limit?, timeout_ms?, now_ns?}
//   GET  /v1/query    ?q=&lang=&format=&limit=&timeout_ms=&now_ns=
//   POST /v1/explain  {query, lang, analyze?, timeout_ms?, now_ns?}   the plan and the per-level
//                     pruning profile as JSON
// `now_ns` fixes the query's now() (nanoseconds since the epoch) for reproducible answers.
//
// Results stream as the executor produces them (chunked; nothing buffers the whole result), so
// exports of millions of rows run in bounded memory. The status is decided before the first
// byte: a query that fails while planning gets its error status; one that fails after rows were
// sent ends the stream with an error marker and without the closing chunk, so no client takes a
// partial result for a whole one. Trailers give rows, bytes read and elapsed milliseconds.

import AsyncAlgorithms
import HTTPTypes
import Hummingbird
import KymaCatalog
import KymaCore
import KymaExec
import KymaPlan
import KymaQueryService
import NIOCore
import Synchronization

extension HTTPField.Name {
    static let kymaRows = HTTPField.Name("Kyma-Rows")!
    static let kymaBytesRead = HTTPField.Name("Kyma-Bytes-Read")!
    static let kymaElapsed = HTTPField.Name("Kyma-Elapsed-Ms")!
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let trailer = HTTPField.Name("Trailer")!
}

/// How a result is written: one JSON document, JSON lines, or CSV.
enum ResultEncoding: String, CaseIterable {
    case json, ndjson, csv

    var contentType: String {
        switch self {
        case .json: "application/json"
        case .ndjson: "application/x-ndjson"
        case .csv: "text/csv; charset=utf-8"
        }
    }

    func header(_ names: [String]) -> String {
        switch self {
        case .json: "{\"columns\":[" + names.map(JSONText.quote).joined(separator: ",") + "],\"rows\":["
        case .ndjson: ""
        case .csv: ResultFormat.csv.header(names)
        }
    }

    /// The first `count` rows of `batch`; `first` says whether no row came before (JSON needs
    /// commas between rows).
    func rows(_ batch: ColumnBatch, names: [String], count: Int, first: Bool) -> String {
        switch self {
        case .ndjson: return ResultFormat.json.rows(batch, names: names, count: count)
        case .csv: return ResultFormat.csv.rows(batch, names: names, count: count)
        case .json:
            let positions = names.map { batch.names.firstIndex(of: $0) }
            var out = ""
            for row in 0..<min(count, batch.rowCount) {
                if !(first && row == 0) { out += "," }
                out += ResultFormat.jsonObject(names: names, values: positions.map { $0.map { batch.columns[$0].value(at: row) } ?? .null })
            }
            return out
        }
    }

    func footer(rows: Int, profile: QueryProfile) -> String {
        switch self {
        case .json:
            "],\"stats\":{\"rows\":\(rows),\"bytes_read\":\(profile.footerBytesRead + profile.dataBytesRead),\"elapsed_ms\":\(profile.totalMillis),"
                + "\"nodes\":\(profile.nodes.count),\"retried_units\":\(profile.nodes.reduce(0) { $0 + $1.retriedUnits }),\"partial\":\(!profile.failedUnits.isEmpty),\"failed_units\":["
                + profile.failedUnits.map { "{\"object\":\(JSONText.quote($0.objectKey)),\"node\":\(JSONText.quote($0.node)),\"reason\":\(JSONText.quote($0.reason))}" }
                    .joined(separator: ",") + "]}}\n"
        case .ndjson, .csv: ""
        }
    }

    /// What the body ends with when the query fails after rows went out.
    func failure(_ error: ServerError) -> String {
        switch self {
        case .json: "],\"error\":" + String(error.json.dropFirst("{\"error\":".count).dropLast()) + "}\n"
        case .ndjson: error.json + "\n"
        case .csv: ""
        }
    }
}

struct QueryRoutes {
    let state: ServerState

    func register(_ router: RouteTable) {
        router.post("/v1/query") { request, context in
            let fields = try JSONFields(RequestBodies.jsonObject(try await RequestBodies.read(request, settings: state.settings)),
                                        known: ["query", "lang", "format", "limit", "timeout_ms", "now_ns", "allow_partial"])
            return try await query(QueryParameters(
                text: try fields.requiredString("query"), language: try fields.string("lang"), format: try fields.string("format"),
                limit: try fields.int("limit", in: 0...Int(Int32.max)), timeoutMillis: try fields.int("timeout_ms", in: 1...86_400_000),
                nowNanos: try fields.int64("now_ns"), allowPartial: try fields.bool("allow_partial") ?? false), context: context)
        }
        router.get("/v1/query") { request, context in
            let query = request.uri.queryParameters
            guard let text = query["q"].map(String.init) else { throw ServerError(.badRequest, "GET /v1/query needs ?q=<query text>") }
            func int(_ name: String, _ range: ClosedRange<Int>) throws(ServerError) -> Int? {
                guard let raw = query[name[...]] else { return nil }
                guard let value = Int(raw), range.contains(value) else {
                    throw ServerError(.badRequest, "'\(name)' must be an integer within \(range.lowerBound)...\(range.upperBound)")
                }
                return value
            }
            var now: Int64? = nil
            if let raw = query["now_ns"] {
                guard let value = Int64(raw) else { throw ServerError(.badRequest, "'now_ns' must be an integer of nanoseconds") }
                now = value
            }
            var allowPartial = false
            if let raw = query["allow_partial"] {
                guard raw == "true" || raw == "false" else { throw ServerError(.badRequest, "'allow_partial' must be true or false") }
                allowPartial = raw == "true"
            }
            return try await self.query(QueryParameters(
                text: text, language: query["lang"].map(String.init), format: query["format"].map(String.init),
                limit: try int("limit", 0...Int(Int32.max)), timeoutMillis: try int("timeout_ms", 1...86_400_000), nowNanos: now,
                allowPartial: allowPartial), context: context)
        }
        router.post("/v1/explain") { request, context in
            let fields = try JSONFields(RequestBodies.jsonObject(try await RequestBodies.read(request, settings: state.settings)),
                                        known: ["query", "lang", "analyze", "timeout_ms", "now_ns"])
            return try await explain(text: try fields.requiredString("query"), language: try fields.string("lang"),
                                     analyze: try fields.bool("analyze") ?? false, timeoutMillis: try fields.int("timeout_ms", in: 1...86_400_000),
                                     nowNanos: try fields.int64("now_ns"), context: context)
        }
    }

    struct QueryParameters {
        var text: String
        var language: String?
        var format: String?
        var limit: Int?
        var timeoutMillis: Int?
        var nowNanos: Int64?
        /// Answer without units no node could read (named in the stats) instead of failing.
        var allowPartial = false
    }

    func budget(timeoutMillis: Int?, allowPartial: Bool = false) -> QueryBudget {
        let seconds = min(state.settings.queryTimeoutSeconds, timeoutMillis.map { Double($0) / 1000 } ?? .infinity)
        return QueryBudget(maxBytesRead: state.settings.queryMaxBytesRead, maxMemoryBytes: state.settings.queryMaxMemoryBytes,
                           timeoutSeconds: seconds, parallelism: state.settings.queryParallelism, allowPartial: allowPartial)
    }

    /// Parses `text` and checks the caller may read its table.
    func parse(_ text: String, language: String?, context: ServerContext) throws(ServerError) -> (language: String, statement: Statement) {
        let language = language == "auto" ? nil : language
        if let language, !state.queryService.frontends.names.contains(language) {
            throw ServerError(.badRequest, "unknown lang '\(language)' (known: \(state.queryService.frontends.names.joined(separator: ", ")), auto)")
        }
        let parsed: (language: String, statement: Statement)
        do { parsed = try state.queryService.parse(text, language: language) } catch { throw ServerError(error) }
        let table = parsed.statement.plan.table
        _ = try context.require(.read, table: table == LogicalPlan.noTable ? nil : table)
        return parsed
    }

    func query(_ parameters: QueryParameters, context: ServerContext) async throws -> Response {
        guard let encoding = ResultEncoding(rawValue: parameters.format ?? "json") else {
            throw ServerError(.badRequest, "unknown format '\(parameters.format ?? "")' (json, ndjson or csv)")
        }
        let (language, statement) = try parse(parameters.text, language: parameters.language, context: context)
        if case .explain(let plan, let analyze) = statement {
            return try await explanation(plan, language: language, analyze: analyze, timeoutMillis: parameters.timeoutMillis, nowNanos: parameters.nowNanos)
        }
        let ticket = try state.queries.enter("queries")
        state.metrics.open(query: 1)
        let request = QueryRequest(text: parameters.text, language: language, budget: budget(timeoutMillis: parameters.timeoutMillis, allowPartial: parameters.allowPartial),
                                   nowNanos: parameters.nowNanos ?? state.now())
        let run = QueryRun(service: state.queryService, request: request, encoding: encoding, limit: parameters.limit,
                           maxBytes: state.settings.maxResultBytes)
        run.start()
        switch await run.started.value {
        case .failure(let error):
            ticket.release()
            state.metrics.open(query: -1)
            throw ServerError(error)
        case .success(let names):
            var headers = HTTPFields()
            headers[.contentType] = encoding.contentType
            headers[.trailer] = "Kyma-Rows, Kyma-Bytes-Read, Kyma-Elapsed-Ms"
            let metrics = state.metrics
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                defer {
                    ticket.release()
                    metrics.open(query: -1)
                }
                do {
                    try await writer.write(ByteBuffer(string: encoding.header(names)))
                    for await chunk in run.chunks { try await writer.write(ByteBuffer(bytes: chunk)) }
                } catch {
                    run.cancel()  // the client went away: stop the query
                    throw error
                }
                switch run.outcome {
                case .success(let profile):
                    metrics.observe(profile)
                    try await writer.write(ByteBuffer(string: encoding.footer(rows: run.rowsSent, profile: profile)))
                    var trailers = HTTPFields()
                    trailers[.kymaRows] = String(run.rowsSent)
                    trailers[.kymaBytesRead] = String(profile.footerBytesRead + profile.dataBytesRead)
                    trailers[.kymaElapsed] = String(profile.totalMillis)
                    try await writer.finish(trailers)
                case .failure(let error):
                    let failure = ServerError(error)
                    try await writer.write(ByteBuffer(string: encoding.failure(failure)))
                    throw failure  // no closing chunk: the client sees a broken transfer, not a short result
                }
            })
        }
    }

    func explain(text: String, language: String?, analyze: Bool, timeoutMillis: Int?, nowNanos: Int64?, context: ServerContext) async throws -> Response {
        let (language, statement) = try parse(text, language: language, context: context)
        var asked = analyze
        if case .explain(_, let analyzeToo) = statement { asked = asked || analyzeToo }
        return try await explanation(statement.plan, language: language, analyze: asked, timeoutMillis: timeoutMillis, nowNanos: nowNanos)
    }

    func explanation(_ plan: LogicalPlan, language: String, analyze: Bool, timeoutMillis: Int?, nowNanos: Int64?) async throws -> Response {
        let ticket = try state.queries.enter("queries")
        defer { ticket.release() }
        let explanation: Explanation
        do {
            explanation = try await state.queryService.explain(plan, language: language, analyze: analyze, budget: budget(timeoutMillis: timeoutMillis),
                                                               nowNanos: nowNanos ?? state.now())
        } catch {
            throw ServerError(error)
        }
        if analyze { state.metrics.observe(explanation.profile) }
        let pushed = explanation.pushedDown.map { "{\"level\":\(JSONText.quote($0.level)),\"predicate\":\(JSONText.quote($0.predicate))}" }
        let body = "{\"language\":\(JSONText.quote(explanation.language)),\"analyzed\":\(explanation.analyzed),\"table\":\(JSONText.quote(plan.table)),"
            + "\"plan\":\(JSONText.quote(explanation.prepared.logical.description)),\"pushed_down\":[\(pushed.joined(separator: ","))],"
            + "\"units\":\(explanation.units),\"profile\":\(explanation.profile.json),\"text\":\(JSONText.quote(explanation.text))}\n"
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

/// One streamed query: runs in its own task, hands encoded chunks over a channel that waits for
/// the client (backpressure), and reports how it started and how it ended.
final class QueryRun: Sendable {
    let service: QueryService
    let request: QueryRequest
    let encoding: ResultEncoding
    let limit: Int?
    /// The column names once the first rows are ready (or the query ended without rows), or
    /// the error that stopped it before.
    let started = OneShot<Result<[String], QueryError>>()
    let chunks = AsyncChannel<[UInt8]>()
    /// Bytes the response may carry (the server's result-size limit).
    let maxBytes: Int
    private let state = Mutex<(task: Task<Void, Never>?, outcome: Result<QueryProfile, QueryError>?, rows: Int, bytes: Int)>((nil, nil, 0, 0))

    init(service: QueryService, request: QueryRequest, encoding: ResultEncoding, limit: Int?, maxBytes: Int) {
        self.service = service
        self.request = request
        self.encoding = encoding
        self.limit = limit
        self.maxBytes = maxBytes
    }

    var outcome: Result<QueryProfile, QueryError> { state.withLock { $0.outcome } ?? .failure(.cancelled) }
    var rowsSent: Int { state.withLock { $0.rows } }

    func start() {
        let task = Task {
            // The response starts with the first rows, or with the end of a query that has
            // none: an aggregation's budget or timeout error still gets its own status.
            let names = Mutex<[String]>([])
            do throws(QueryError) {
                let profile = try await self.service.stream(self.request) { columns throws(QueryError) in
                    names.withLock { $0 = columns }
                } batch: { batch throws(QueryError) in
                    try await self.send(batch, names: names.withLock { $0 })
                }
                self.state.withLock { $0.outcome = .success(profile) }
                self.started.resolve(.success(names.withLock { $0 }))
            } catch {
                if case .cancelled = error, self.limitReached {
                    // The row limit stopped the query: a whole result, not a failure.
                    self.state.withLock { $0.outcome = .success(QueryProfile()) }
                } else if !self.started.resolve(.failure(error)) {
                    self.state.withLock { $0.outcome = .failure(error) }
                }
            }
            self.chunks.finish()
        }
        state.withLock { $0.task = task }
    }

    var limitReached: Bool {
        guard let limit else { return false }
        return state.withLock { $0.rows } >= limit
    }

    func send(_ batch: ColumnBatch, names: [String]) async throws(QueryError) {
        let (first, count) = state.withLock { s -> (Bool, Int) in
            (s.rows == 0, min(batch.rowCount, limit.map { max(0, $0 - s.rows) } ?? batch.rowCount))
        }
        if count > 0 {
            let chunk = Array(encoding.rows(batch, names: names, count: count, first: first).utf8)
            let sent = state.withLock { s -> Int in
                s.rows += count
                s.bytes += chunk.count
                return s.bytes
            }
            guard sent <= maxBytes else { throw .resourcesExhausted(resource: "result bytes", limit: maxBytes, used: sent) }
            started.resolve(.success(names))  // the response starts with its first rows
            await chunks.send(chunk)
        }
        if Task.isCancelled || limitReached { throw .cancelled }
    }

    func cancel() {
        state.withLock { $0.task }?.cancel()
    }
}
