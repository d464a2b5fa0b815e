// The boundary for query languages.

/// A query language: text in, `Statement` (a `LogicalPlan`, or a request to explain one) out.
///
/// ## Contract
/// - `parseStatement` and `parseExpression` are pure: no I/O, no catalog access, no clock
///   (`now()` and `ago()` stay expressions, evaluated once per query). Table and column names are
///   not resolved here; table sources resolve them, so a frontend never sees storage.
/// - Any text MUST give a statement or a `QueryError`: never a crash, a hang or unbounded work.
///   Expression trees are at most `QueryLimits.maxExpressionDepth` deep; deeper input is a
///   `.semantic` error naming the limit. Integer literals that do not fit in 64 bits, and row
///   counts that do not fit in `Int`, are errors, never traps.
/// - Equal text gives equal values (parsing is deterministic), so plans can be compared and cached.
///
/// ## Errors
/// Syntax errors are `.syntax` with the 1-based line and column of the offending token and what
/// was expected there; other problems in the text (an unknown function, a wrong argument count)
/// are `.semantic` with the position when the frontend knows it.
///
/// ## Concurrency
/// Frontends are `Sendable` values; parsing may run on many tasks at once.
public protocol QueryFrontend: Sendable {
    /// The language's name (`kql`, `sql`), used to pick a frontend.
    var name: String { get }
    func parseStatement(_ text: String) throws(QueryError) -> Statement
    /// A predicate or value on its own (vector payload filters), in this language's syntax.
    func parseExpression(_ text: String) throws(QueryError) -> Expr
    /// Whether `text` looks like this language (by its first words). Several frontends MAY
    /// claim one text; the registry then asks the caller to name the language.
    func claims(_ text: String) -> Bool
}

extension QueryFrontend {
    /// The plan of a query (an EXPLAIN is refused: the caller asked for rows).
    public func parse(_ text: String) throws(QueryError) -> LogicalPlan {
        switch try parseStatement(text) {
        case .query(let plan): return plan
        case .explain: throw .semantic("EXPLAIN is a statement of its own here; run the query, or ask for its explanation", at: nil)
        }
    }
}

/// Limits every frontend enforces (documented in docs/kql.md and docs/sql.md).
public enum QueryLimits {
    /// How deep an expression tree (and parenthesised or nested input) may go. Deeper trees are
    /// refused at parse time, so evaluation, folding and printing never recurse further.
    public static let maxExpressionDepth = 100
    /// Query text longer than this is refused before parsing (1 MiB).
    public static let maxQueryBytes = 1 << 20
}

/// Frontends by name.
public struct FrontendRegistry: Sendable {
    public let frontends: [any QueryFrontend]

    public init(_ frontends: [any QueryFrontend]) { self.frontends = frontends }

    public var names: [String] { frontends.map(\.name) }

    public func frontend(named name: String) -> (any QueryFrontend)? {
        frontends.first { $0.name == name.lowercased() }
    }

    /// The frontend for `language`, or when it is nil or `auto`, the one frontend that claims
    /// the text. Unknown or ambiguous languages are `.semantic` errors saying what to pass.
    public func frontend(for text: String, language: String?) throws(QueryError) -> any QueryFrontend {
        if let language, language.lowercased() != "auto" {
            guard let found = frontend(named: language) else {
                throw .semantic("unknown query language '\(language)' (have: \(names.joined(separator: ", ")))", at: nil)
            }
            return found
        }
        let claiming = frontends.filter { $0.claims(text) }
        if claiming.count == 1 { return claiming[0] }
        if claiming.isEmpty, frontends.count == 1 { return frontends[0] }
        let which = claiming.isEmpty ? names : claiming.map(\.name)
        throw .semantic("cannot tell the query language of this text: name it (\(which.joined(separator: " or ")))", at: nil)
    }
}
