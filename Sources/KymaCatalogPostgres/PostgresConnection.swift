// One libpq connection: connect, run parameterised statements, map errors to CatalogError.

#if canImport(Glibc)
import Glibc
#endif
import CPostgres
import Foundation
import KymaCatalog
import Synchronization

/// A connection's PGcancel, freed when the last holder lets go (the connection, or a thread still
/// sending a cancel after the connection was closed). libpq allows PQcancel from any thread.
final class CancelHandle: @unchecked Sendable {
    let handle: OpaquePointer
    init(_ handle: OpaquePointer) { self.handle = handle }
    deinit { PQfreeCancel(handle) }
}

/// The rows of one result, as text (libpq's text format), with NULL as nil.
struct PostgresRows {
    var columns: [String]
    var rows: [[String?]]
    var affectedRows: Int

    func value(_ row: Int, _ column: String) -> String? {
        guard rows.indices.contains(row), let index = columns.firstIndex(of: column) else { return nil }
        return rows[row][index]
    }
}

/// A libpq connection. Not thread-safe: the pool hands it to one caller at a time, who uses it
/// on one thread at a time (hence `@unchecked Sendable`); only `requestCancel` may be called from
/// another thread.
///
/// Every wait has a limit. Connecting is bounded by libpq's `connect_timeout` (10 s unless the URL
/// sets one). A statement is sent with libpq's asynchronous calls and its answer awaited with
/// `poll` in short slices: past `statementTimeout` — or when the caller's task is cancelled — the
/// statement is cancelled in PostgreSQL (`PQcancel`), and if the server does not answer within
/// `cancelGrace` the connection is given up (a server that accepts and never answers cannot hang
/// a caller).
final class PostgresConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    private let cancelHandle: CancelHandle?
    let redactedURL: String
    /// The longest a statement may run (PostgresCatalog's setting).
    var statementTimeout: Double
    static let cancelGrace: Double = 5
    /// Set from another thread to stop the statement in flight.
    private let cancelRequested = Atomic<Bool>(false)
    /// Whether the connection was given up (a statement did not come back): never reused.
    private(set) var abandoned = false

    /// libpq's default is to wait forever for a server that accepts and never answers.
    static let defaultConnectTimeoutSeconds = 10

    static func withConnectTimeout(_ url: String) -> String {
        guard !url.contains("connect_timeout=") else { return url }
        return url + (url.contains("?") ? "&" : "?") + "connect_timeout=\(defaultConnectTimeoutSeconds)"
    }

    init(url: String, redactedURL: String, statementTimeout: Double = 60) throws(CatalogError) {
        self.redactedURL = redactedURL
        self.statementTimeout = statementTimeout
        guard let handle = PQconnectdb(Self.withConnectTimeout(url)) else {
            throw .cannotConnect(url: redactedURL, reason: "out of memory")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let reason = Self.firstLine(String(cString: PQerrorMessage(handle)))
            PQfinish(handle)
            throw .cannotConnect(url: redactedURL, reason: reason)
        }
        self.handle = handle
        self.cancelHandle = PQgetCancel(handle).map(CancelHandle.init)
        _ = try? execute("SET application_name = 'kyma'; SET client_min_messages = warning")
    }

    deinit { PQfinish(handle) }

    var isHealthy: Bool { !abandoned && PQstatus(handle) == CONNECTION_OK }

    /// Whether an idle pooled connection can take a statement: healthy, and its socket has not
    /// been closed under it. libpq reports CONNECTION_OK until it next reads, so a connection
    /// the server (or the network) closed while idle looked usable and failed its next statement.
    var isUsable: Bool {
        guard isHealthy else { return false }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) > 0 else { return true }  // nothing to read: as alive as can be told
        // Readable while idle: the end of the stream, or a notice. Reading it tells which.
        return PQconsumeInput(handle) != 0 && PQstatus(handle) == CONNECTION_OK
    }

    /// Asks PostgreSQL to stop the statement in flight (from any thread).
    func requestCancel() {
        cancelRequested.store(true, ordering: .relaxed)
    }

    /// Runs one statement with text parameters ($1, $2, ...), or several statements without
    /// parameters. Throws a `CatalogError` mapped from the SQLSTATE, `.timeout` past the
    /// statement timeout, `.cancelled` when `requestCancel` stopped it.
    /// Statements prepared on this session, by SQL text (the session's own; never shared).
    private var preparedNames: [String: String] = [:]

    /// `execute` through a statement prepared once per session: for the hot read path (table
    /// lookup, the pruning query), where PostgreSQL's planning costs more than running it.
    @discardableResult
    func executePrepared(_ sql: String, _ parameters: [String?], operation: String) throws(CatalogError) -> PostgresRows {
        if preparedNames[sql] == nil {
            let name = "kyma_\(preparedNames.count)"
            cancelRequested.store(false, ordering: .relaxed)
            guard PQsendPrepare(handle, name, sql, Int32(parameters.count), nil) == 1 else { throw classifyConnectionFailure(operation: operation) }
            try awaitAnswer(operation: operation)
            _ = try collect(operation: operation)
            preparedNames[sql] = name
        }
        return try execute(sql, parameters, operation: operation, preparedAs: preparedNames[sql])
    }

    @discardableResult
    func execute(_ sql: String, _ parameters: [String?] = [], operation: String = "statement", preparedAs prepared: String? = nil) throws(CatalogError) -> PostgresRows {
        cancelRequested.store(false, ordering: .relaxed)
        // libpq takes parameters as C strings: a NUL would silently cut the value, and
        // PostgreSQL text cannot hold one anyway.
        if let index = parameters.firstIndex(where: { $0?.utf8.contains(0) == true }) {
            throw .invalidArgument("\(operation): parameter $\(index + 1) contains a NUL character, which catalog text cannot hold")
        }
        let sent: Int32
        if parameters.isEmpty, prepared == nil {
            sent = PQsendQuery(handle, sql)
        } else {
            // Keep the C strings alive for the call.
            let cStrings: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0)! } }
            defer { cStrings.forEach { free($0) } }
            sent = cStrings.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: UnsafePointer<CChar>?.self) { values in
                    if let prepared {
                        PQsendQueryPrepared(handle, prepared, Int32(parameters.count), values.baseAddress, nil, nil, 0)
                    } else {
                        PQsendQueryParams(handle, sql, Int32(parameters.count), nil, values.baseAddress, nil, nil, 0)
                    }
                }
            }
        }
        guard sent == 1 else { throw classifyConnectionFailure(operation: operation) }
        try awaitAnswer(operation: operation)
        return try collect(operation: operation)
    }

    /// Reads every result of the statement in flight: the first error wins, the last result is
    /// the answer.
    private func collect(operation: String) throws(CatalogError) -> PostgresRows {
        var rows = PostgresRows(columns: [], rows: [], affectedRows: 0)
        var failure: CatalogError? = nil
        while let result = PQgetResult(handle) {
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
                rows = Self.rows(of: result)
            default:
                guard failure == nil else { continue }
                let message = Self.firstLine(String(cString: PQresultErrorMessage(result)))
                let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
                if sqlState == "57014" {  // query_canceled: by us (timeout or the caller) or a statement_timeout
                    failure = timedOut ? .timeout(operation: operation, seconds: statementTimeout) : .cancelled(operation: operation)
                } else {
                    failure = Self.classify(sqlState: sqlState, message: message, operation: operation)
                }
            }
        }
        if let failure {
            if !isHealthy { throw classifyConnectionFailure(operation: operation) }
            throw failure
        }
        guard PQstatus(handle) == CONNECTION_OK else { throw classifyConnectionFailure(operation: operation) }
        return rows
    }

    /// Set when the statement in flight passed its timeout (so a cancelled statement reads as one).
    private var timedOut = false

    /// Waits until the whole answer has arrived, cancelling in PostgreSQL on the timeout or a
    /// cancel request, and giving the connection up if even that goes unanswered.
    private func awaitAnswer(operation: String) throws(CatalogError) {
        timedOut = false
        let clock = ContinuousClock()
        let started = clock.now
        var cancelledAt: ContinuousClock.Instant? = nil
        let socket = PQsocket(handle)
        while true {
            guard PQconsumeInput(handle) == 1 else { throw classifyConnectionFailure(operation: operation) }
            if PQisBusy(handle) == 0 { return }
            let now = clock.now
            if cancelledAt == nil {
                let overdue = Self.seconds(now - started) >= statementTimeout
                if overdue || cancelRequested.load(ordering: .relaxed) {
                    timedOut = overdue
                    cancelledAt = now
                    sendCancel()
                }
            } else if let cancelledAt, Self.seconds(now - cancelledAt) >= Self.cancelGrace {
                // The server answers neither the statement nor the cancel: give the connection up.
                abandoned = true
                throw timedOut || !cancelRequested.load(ordering: .relaxed)
                    ? .timeout(operation: operation, seconds: statementTimeout) : .cancelled(operation: operation)
            }
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            _ = poll(&descriptor, 1, 100)  // slices of 100 ms: cancel requests are seen promptly
        }
    }

    /// PQcancel opens a connection of its own to the server: done on another thread, so a
    /// server that does not answer that either cannot hold this one.
    private func sendCancel() {
        guard let cancelHandle else { return }
        Thread.detachNewThread {
            var message = [CChar](repeating: 0, count: 256)
            _ = PQcancel(cancelHandle.handle, &message, Int32(message.count))
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let (s, attoseconds) = duration.components
        return Double(s) + Double(attoseconds) / 1e18
    }

    private func classifyConnectionFailure(operation: String) -> CatalogError {
        .connectionLost(reason: "\(operation): " + Self.firstLine(String(cString: PQerrorMessage(handle))))
    }

    static func classify(sqlState: String, message: String, operation: String) -> CatalogError {
        if ["23505", "40001", "40P01"].contains(sqlState) { return .conflict("\(operation): \(message)") }
        if sqlState.hasPrefix("23") { return .constraint("\(operation): \(message)") }
        if sqlState.hasPrefix("08") || sqlState.hasPrefix("57P") { return .connectionLost(reason: "\(operation): \(message)") }
        return .query(operation: operation, reason: message)
    }

    private static func rows(of result: OpaquePointer) -> PostgresRows {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            rows.append((0..<columnCount).map { column -> String? in
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 { return nil }
                return String(cString: PQgetvalue(result, Int32(row), Int32(column)))
            })
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresRows(columns: columns, rows: rows, affectedRows: affected)
    }

    static func firstLine(_ text: String) -> String {
        let line = text.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? text
        return line.trimmingCharacters(in: " \t\r")
    }

    /// Runs `body` inside BEGIN/COMMIT, rolling back when it throws.
    func transaction<T>(_ body: () throws(CatalogError) -> T) throws(CatalogError) -> T {
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT", operation: "commit")
            return value
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}

/// Text helpers for SQL parameters.
enum SQLText {
    /// A PostgreSQL array literal of text values: {"a","b"}.
    static func textArray(_ values: [String]) -> String {
        "{" + values.map { "\"" + $0.replacingOccurrences("\\", "\\\\").replacingOccurrences("\"", "\\\"") + "\"" }.joined(separator: ",") + "}"
    }

    /// A PostgreSQL array literal whose nil elements are NULL: {"a",NULL}.
    static func nullableArray(_ values: [String?]) -> String {
        "{" + values.map { value in
            guard let value else { return "NULL" }
            return "\"" + value.replacingOccurrences("\\", "\\\\").replacingOccurrences("\"", "\\\"") + "\""
        }.joined(separator: ",") + "}"
    }

    /// Parses libpq's text form of a text[] value.
    static func parseTextArray(_ text: String) -> [String] {
        var values: [String] = []
        var chars = Array(text.dropFirst().dropLast())
        var index = 0
        var current = ""
        var quoted = false
        var sawQuotes = false
        while index < chars.count {
            let c = chars[index]
            if quoted {
                if c == "\\", index + 1 < chars.count { current.append(chars[index + 1]); index += 2; continue }
                if c == "\"" { quoted = false; index += 1; continue }
                current.append(c)
            } else if c == "\"" {
                quoted = true
                sawQuotes = true
            } else if c == "," {
                values.append(current)
                current = ""
                sawQuotes = false
            } else {
                current.append(c)
            }
            index += 1
        }
        if !current.isEmpty || sawQuotes || !chars.isEmpty { values.append(current) }
        chars.removeAll()
        return values
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}
