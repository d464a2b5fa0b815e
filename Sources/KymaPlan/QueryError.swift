// Errors of query text, planning and execution, with the kind every caller maps from.

/// A place in query text: 1-based line and column (columns count characters).
public struct SourcePosition: Sendable, Hashable, Codable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "line \(line), column \(column)" }
}

/// Errors of query text, planning and execution.
///
/// Every failure below a query (the catalog, the object store, a format) reaches the caller as
/// one of these cases, converted once at the table source that met it; `kind` groups them for
/// the one mapping to exit codes and HTTP statuses (`QueryErrorKind`).
public enum QueryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The text does not parse: where, what was found and what was expected.
    case syntax(line: Int, column: Int, found: String, expected: String)
    /// The text parses but asks for something unsupported, unknown or ill-formed.
    case semantic(String, at: SourcePosition?)
    case unknownTable(String)
    /// An expression applied to values of the wrong type, or a value that does not convert.
    case type(String)
    /// A budget was exceeded: which one, the limit and what was used.
    case resourcesExhausted(resource: String, limit: Int, used: Int)
    case timeout(seconds: Double)
    case cancelled
    /// The catalog (PostgreSQL) could not be reached or failed: what was being done and why.
    case catalogUnavailable(String)
    /// The object store could not be reached or failed (timeouts, 5xx, I/O errors).
    case storageUnavailable(String)
    /// Stored data is damaged: the object and what is wrong (a checksum, a truncated footer).
    case corruptData(object: String, detail: String)
    /// A query node that was given units could not be reached or failed, and so did the node
    /// the units were retried on: which node and why.
    case nodeUnavailable(node: String, reason: String)
    /// A bug: a state the engine should never reach. Never caused by input alone.
    case internalError(String)

    public var kind: QueryErrorKind {
        switch self {
        case .syntax, .semantic, .type: .badQuery
        case .unknownTable: .unknownTable
        case .resourcesExhausted: .budgetExceeded
        case .timeout: .timeout
        case .cancelled: .cancelled
        case .catalogUnavailable: .catalogUnavailable
        case .storageUnavailable: .storageUnavailable
        case .corruptData: .corruptData
        case .nodeUnavailable: .nodeUnavailable
        case .internalError: .internalError
        }
    }

    /// Where in the query text the error is, when known.
    public var position: SourcePosition? {
        switch self {
        case .syntax(let line, let column, _, _): SourcePosition(line: line, column: column)
        case .semantic(_, let at): at
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .syntax(let line, let column, let found, let expected):
            "syntax error at line \(line), column \(column): expected \(expected), found \(found)"
        case .semantic(let message, let at): "query error: \(message)" + (at.map { " (at \($0))" } ?? "")
        case .unknownTable(let name): "unknown table '\(name)'"
        case .type(let message): "type error: \(message)"
        case .resourcesExhausted(let resource, let limit, let used):
            "resources exhausted: \(resource) limit \(limit) exceeded (\(used))"
        case .timeout(let seconds): "query timed out after \(seconds) s"
        case .cancelled: "query cancelled"
        case .catalogUnavailable(let message): "catalog unavailable: \(message)"
        case .storageUnavailable(let message): "object store unavailable: \(message)"
        case .corruptData(let object, let detail): "corrupt data in \(object): \(detail)"
        case .nodeUnavailable(let node, let reason): "query node \(node) unavailable: \(reason)"
        case .internalError(let message): "internal error: \(message)"
        }
    }
}

/// What kind of failure a `QueryError` is: who is at fault and whether a retry can help.
public enum QueryErrorKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// The query text is wrong (syntax, an unknown function, a type error): fix the query.
    case badQuery = "bad_query"
    case unknownTable = "unknown_table"
    /// A budget (bytes read, memory) was exceeded: narrow the query or raise the budget.
    case budgetExceeded = "budget_exceeded"
    case timeout
    case cancelled
    /// The catalog or the object store is down or failing: retry later.
    case catalogUnavailable = "catalog_unavailable"
    case storageUnavailable = "storage_unavailable"
    /// Stored data failed a check: an operator must look.
    case corruptData = "corrupt_data"
    /// Query nodes given part of the scan failed (after a retry on another): retry later.
    case nodeUnavailable = "node_unavailable"
    case internalError = "internal_error"
}
