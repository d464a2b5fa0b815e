// KymaSQL: a SQL frontend, a `QueryFrontend` peer of KQL producing the same `LogicalPlan`. The
// dialect and its meaning are DuckDB's where dialects differ (NULL ordering, integer division,
// string comparison); docs/sql.md lists every supported form and every difference.

import KymaCore
import KymaPlan

public struct SQLFrontend: QueryFrontend {
    public let name = "sql"

    public init() {}

    public func parseStatement(_ text: String) throws(QueryError) -> Statement {
        var parser = SQLParser(tokens: try SQLLexer.tokenize(text))
        let statement = try parser.statement()
        var translator = SQLTranslator()
        switch statement {
        case .select(let query): return .query(try translator.translate(query).plan)
        case .explain(let query, let analyze): return .explain(try translator.translate(query).plan, analyze: analyze)
        }
    }

    /// A predicate or value over one row's columns (no aggregates), e.g. `genre = 'jazz' AND year > 2000`.
    public func parseExpression(_ text: String) throws(QueryError) -> Expr {
        var parser = SQLParser(tokens: try SQLLexer.tokenize(text))
        let expr = try parser.expression()
        guard parser.isEnd else { throw parser.fail("the end of the expression") }
        if SQLFunctions.containsAggregate(expr) { throw .semantic("aggregate functions are not allowed in a filter", at: nil) }
        return try SQLTranslator().scalar(expr, SQLTranslator.Scope(qualifiers: [], columns: nil))
    }

    /// Text that starts (after comments and parentheses) with SELECT, WITH or EXPLAIN.
    public func claims(_ text: String) -> Bool {
        guard let tokens = try? SQLLexer.tokenize(text) else { return false }
        for token in tokens {
            if case .symbol("(") = token.kind { continue }
            guard let keyword = token.keyword else { return false }
            return ["SELECT", "WITH", "EXPLAIN"].contains(keyword)
        }
        return false
    }
}
