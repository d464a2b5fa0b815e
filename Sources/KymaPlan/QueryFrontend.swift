// The boundary for query languages.

/// A query language: text in, `LogicalPlan` out.
///
/// ## Contract
/// `parse` is pure: no I/O, no catalog access, no clock (`now()` and `ago()` stay expressions,
/// evaluated once per query by the executor). Table and column names are not resolved here; the
/// planner resolves them against the catalog, so a frontend never sees storage.
///
/// ## Errors
/// Every failure is a `QueryError`; syntax errors carry the 1-based line and column of the
/// offending token and say what was expected there.
///
/// ## Concurrency
/// Frontends are `Sendable` values; `parse` may run on many tasks at once.
public protocol QueryFrontend: Sendable {
    /// The language's name (`kql`, `sql`), used to pick a frontend.
    var name: String { get }
    func parse(_ text: String) throws(QueryError) -> LogicalPlan
}

/// Errors of query text, planning and execution.
public enum QueryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The text does not parse: where, what was found and what was expected.
    case syntax(line: Int, column: Int, found: String, expected: String)
    /// The text parses but asks for something unsupported or ill-typed.
    case semantic(String)
    case unknownTable(String)
    /// An expression applied to values of the wrong type.
    case type(String)
    /// A budget was exceeded: which one, the limit and what was used.
    case resourcesExhausted(resource: String, limit: Int, used: Int)
    case timeout(seconds: Double)
    case cancelled
    /// The catalog, object store or format failed underneath the query.
    case storage(String)

    public var description: String {
        switch self {
        case .syntax(let line, let column, let found, let expected):
            "syntax error at line \(line), column \(column): expected \(expected), found \(found)"
        case .semantic(let message): "query error: \(message)"
        case .unknownTable(let name): "unknown table '\(name)'"
        case .type(let message): "type error: \(message)"
        case .resourcesExhausted(let resource, let limit, let used):
            "resources exhausted: \(resource) limit \(limit) exceeded (\(used))"
        case .timeout(let seconds): "query timed out after \(seconds) s"
        case .cancelled: "query cancelled"
        case .storage(let message): "storage error during query: \(message)"
        }
    }
}

/// Frontends by name.
public struct FrontendRegistry: Sendable {
    public let frontends: [any QueryFrontend]

    public init(_ frontends: [any QueryFrontend]) { self.frontends = frontends }

    public func frontend(named name: String) -> (any QueryFrontend)? {
        frontends.first { $0.name == name.lowercased() }
    }
}
