// The SQL parser: recursive descent over `SQLToken`s into `SQLSelect` trees (docs/sql.md lists
// what it takes). Nesting is bounded by `QueryLimits.maxExpressionDepth` (parentheses,
// subqueries and operator chains alike), so no input recurses without limit.

import KymaCore
import KymaPlan

struct SQLParser {
    let tokens: [SQLToken]
    var position = 0
    var depth = 0

    init(tokens: [SQLToken]) { self.tokens = tokens }

    static let reserved: Set<String> = [
        "ALL", "AND", "ANY", "AS", "ASC", "BETWEEN", "BY", "CASE", "CAST", "CROSS", "DESC", "DISTINCT", "ELSE", "END", "EXCEPT", "EXPLAIN",
        "FALSE", "FETCH", "FILTER", "FROM", "FULL", "GROUP", "HAVING", "ILIKE", "IN", "INNER", "INTERSECT", "IS", "JOIN", "LEFT", "LIKE",
        "LIMIT", "NATURAL", "NOT", "NULL", "NULLS", "OFFSET", "ON", "OR", "ORDER", "OUTER", "QUALIFY", "RIGHT", "SELECT", "THEN", "TRUE",
        "UNION", "USING", "WHEN", "WHERE", "WINDOW", "WITH", "WITHIN", "ESCAPE", "OVER",
    ]

    // MARK: - Tokens

    var current: SQLToken { tokens[position] }
    var next: SQLToken { tokens[min(position + 1, tokens.count - 1)] }

    mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    func fail(_ expected: String) -> QueryError {
        .syntax(line: current.line, column: current.column, found: current.display, expected: expected)
    }

    func semantic(_ message: String, at token: SQLToken? = nil) -> QueryError {
        .semantic(message, at: (token ?? current).position)
    }

    mutating func enter() throws(QueryError) {
        depth += 1
        if depth > QueryLimits.maxExpressionDepth {
            throw semantic("expression or query nested deeper than \(QueryLimits.maxExpressionDepth) levels")
        }
    }

    func isKeyword(_ word: String) -> Bool { current.keyword == word }
    func isSymbol(_ symbol: String) -> Bool { current.kind == .symbol(symbol) }

    mutating func accept(_ symbol: String) -> Bool {
        guard isSymbol(symbol) else { return false }
        advance()
        return true
    }

    mutating func acceptKeyword(_ word: String) -> Bool {
        guard isKeyword(word) else { return false }
        advance()
        return true
    }

    mutating func expect(_ symbol: String) throws(QueryError) {
        guard accept(symbol) else { throw fail("'\(symbol)'") }
    }

    mutating func expectKeyword(_ word: String) throws(QueryError) {
        guard acceptKeyword(word) else { throw fail(word) }
    }

    /// A name: an unquoted word that is not reserved, or a "quoted" one.
    mutating func name(_ what: String) throws(QueryError) -> String {
        switch current.kind {
        case .word(let w) where !Self.reserved.contains(w.uppercased()):
            advance()
            return w
        case .quoted(let w):
            advance()
            return w
        default:
            throw fail(what)
        }
    }

    var isEnd: Bool { current.kind == .end }

    // MARK: - Statements

    mutating func statement() throws(QueryError) -> SQLStatement {
        var explain = false, analyze = false
        if acceptKeyword("EXPLAIN") {
            explain = true
            analyze = acceptKeyword("ANALYZE") || acceptKeyword("ANALYSE")
        }
        let query = try select()
        _ = accept(";")
        guard isEnd else {
            if let word = current.keyword, ["UNION", "EXCEPT", "INTERSECT"].contains(word) {
                throw semantic("\(word) is not supported: a query reads one table")
            }
            throw fail("the end of the query")
        }
        return explain ? .explain(query, analyze: analyze) : .select(query)
    }

    mutating func select() throws(QueryError) -> SQLSelect {
        try enter()
        defer { depth -= 1 }
        var query = SQLSelect(at: current.position)
        if acceptKeyword("WITH") {
            if isKeyword("RECURSIVE") { throw semantic("WITH RECURSIVE is not supported") }
            repeat {
                let cteName = try name("a name for the WITH query")
                try expectKeyword("AS")
                if isKeyword("MATERIALIZED") || isKeyword("NOT") { throw semantic("MATERIALIZED hints are not supported") }
                try expect("(")
                let inner = try select()
                try expect(")")
                query.with.append((cteName, inner))
            } while accept(",")
        }
        if isSymbol("(") {
            throw semantic("a parenthesised query at the top is not supported; write SELECT ... FROM (query)")
        }
        try expectKeyword("SELECT")
        if acceptKeyword("DISTINCT") {
            if isKeyword("ON") { throw semantic("DISTINCT ON is not supported") }
            query.distinct = true
        } else {
            _ = acceptKeyword("ALL")
        }
        repeat { query.items.append(try selectItem()) } while accept(",")
        if acceptKeyword("FROM") { query.from = try from() }
        if acceptKeyword("WHERE") { query.whereClause = try expression() }
        if acceptKeyword("GROUP") {
            try expectKeyword("BY")
            if acceptKeyword("ALL") {
                query.groupByAll = true
            } else {
                repeat { query.groupBy.append(try expression()) } while accept(",")
            }
        }
        if acceptKeyword("HAVING") { query.having = try expression() }
        if isKeyword("WINDOW") || isKeyword("QUALIFY") { throw semantic("window functions are not supported") }
        if acceptKeyword("ORDER") {
            try expectKeyword("BY")
            repeat { query.orderBy.append(try orderItem()) } while accept(",")
        }
        while isKeyword("LIMIT") || isKeyword("OFFSET") {
            if acceptKeyword("LIMIT") {
                guard query.limit == nil else { throw fail("one LIMIT") }
                if acceptKeyword("ALL") { continue }
                query.limit = try rowCount("LIMIT")
            } else {
                advance()
                guard query.offset == nil else { throw fail("one OFFSET") }
                query.offset = try rowCount("OFFSET")
                _ = acceptKeyword("ROWS") || acceptKeyword("ROW")
            }
        }
        return query
    }

    mutating func rowCount(_ clause: String) throws(QueryError) -> Int {
        guard case .integer(let text) = current.kind else { throw fail("a row count after \(clause)") }
        guard let value = Int(text) else { throw semantic("\(clause) \(text) is out of range") }
        advance()
        return value
    }

    mutating func selectItem() throws(QueryError) -> SQLSelectItem {
        if accept("*") { return .star(qualifier: nil) }
        if case .symbol(".") = next.kind, tokens[min(position + 2, tokens.count - 1)].kind == .symbol("*") {
            let qualifier = try name("a table name")
            advance()  // .
            advance()  // *
            return .star(qualifier: qualifier)
        }
        let expr = try expression()
        if acceptKeyword("AS") { return .expr(expr, alias: try name("a column alias")) }
        switch current.kind {
        case .word(let w) where !Self.reserved.contains(w.uppercased()):
            advance()
            return .expr(expr, alias: w)
        case .quoted(let w):
            advance()
            return .expr(expr, alias: w)
        default:
            return .expr(expr, alias: nil)
        }
    }

    mutating func from() throws(QueryError) -> SQLFrom {
        let item: SQLFrom
        if accept("(") {
            let inner = try select()
            try expect(")")
            item = .subquery(inner, alias: try alias())
        } else {
            let at = current.position
            let table = try name("a table name")
            if accept(".") { throw semantic("schema-qualified table names are not supported", at: tokens[position - 1]) }
            if isSymbol("(") { throw semantic("table functions are not supported") }
            item = .table(table, alias: try alias(), at: at)
        }
        if isSymbol(",") || ["JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL", "POSITIONAL", "ASOF"].contains(current.keyword ?? "") {
            throw semantic("joins are not supported: a query reads one table")
        }
        return item
    }

    mutating func alias() throws(QueryError) -> String? {
        if acceptKeyword("AS") { return try name("an alias") }
        switch current.kind {
        case .word(let w) where !Self.reserved.contains(w.uppercased()):
            advance()
            return w
        case .quoted(let w):
            advance()
            return w
        default:
            return nil
        }
    }

    mutating func orderItem() throws(QueryError) -> SQLOrderItem {
        let expr = try expression()
        var descending = false
        if acceptKeyword("DESC") { descending = true } else { _ = acceptKeyword("ASC") }
        var nullsFirst: Bool? = nil
        if acceptKeyword("NULLS") {
            if acceptKeyword("FIRST") { nullsFirst = true } else if acceptKeyword("LAST") { nullsFirst = false } else { throw fail("FIRST or LAST") }
        }
        return SQLOrderItem(expr: expr, descending: descending, nullsFirst: nullsFirst)
    }

    // MARK: - Expressions (precedence: OR < AND < NOT < comparison/IS/IN/LIKE/BETWEEN < || < + - < * / // % < unary < :: [])

    mutating func expression() throws(QueryError) -> SQLExpr {
        try enter()
        defer { depth -= 1 }
        // AND and OR chains are flat lists: a thousand terms are one level, not a thousand.
        var parts = [try conjunction()]
        while acceptKeyword("OR") { parts.append(try conjunction()) }
        return parts.count == 1 ? parts[0] : .logical(isAnd: false, parts)
    }

    mutating func conjunction() throws(QueryError) -> SQLExpr {
        var parts = [try negation()]
        while acceptKeyword("AND") { parts.append(try negation()) }
        return parts.count == 1 ? parts[0] : .logical(isAnd: true, parts)
    }

    mutating func negation() throws(QueryError) -> SQLExpr {
        if acceptKeyword("NOT") {
            try enter()
            defer { depth -= 1 }
            return .unary("NOT", try negation())
        }
        return try comparison()
    }

    static let comparisons: Set<String> = ["=", "==", "<>", "!=", "<", "<=", ">", ">="]

    mutating func comparison() throws(QueryError) -> SQLExpr {
        let lhs = try concatenation()
        if case .symbol(let s) = current.kind, Self.comparisons.contains(s) {
            advance()
            if isKeyword("ANY") || isKeyword("ALL") || isKeyword("SOME") { throw semantic("subquery comparisons are not supported") }
            return .binary(s, lhs, try concatenation())
        }
        if acceptKeyword("IS") {
            let negated = acceptKeyword("NOT")
            if acceptKeyword("NULL") { return .isNull(lhs, negated: negated) }
            if acceptKeyword("TRUE") { return .binary(negated ? "IS NOT" : "IS", lhs, .literal(.bool(true))) }
            if acceptKeyword("FALSE") { return .binary(negated ? "IS NOT" : "IS", lhs, .literal(.bool(false))) }
            if isKeyword("DISTINCT") { throw semantic("IS [NOT] DISTINCT FROM is not supported") }
            throw fail("NULL, TRUE or FALSE after IS")
        }
        if acceptKeyword("ISNULL") { return .isNull(lhs, negated: false) }
        if acceptKeyword("NOTNULL") { return .isNull(lhs, negated: true) }
        let negated = acceptKeyword("NOT")
        if acceptKeyword("BETWEEN") {
            if isKeyword("SYMMETRIC") { throw semantic("BETWEEN SYMMETRIC is not supported") }
            let low = try concatenation()
            try expectKeyword("AND")
            let high = try concatenation()
            return .between(lhs, low, high, negated: negated)
        }
        if acceptKeyword("IN") {
            try expect("(")
            if isKeyword("SELECT") || isKeyword("WITH") { throw semantic("IN (subquery) is not supported") }
            var items: [SQLExpr] = []
            if !isSymbol(")") { repeat { items.append(try expression()) } while accept(",") }
            try expect(")")
            return .inList(lhs, items, negated: negated)
        }
        if isKeyword("LIKE") || isKeyword("ILIKE") {
            let caseInsensitive = isKeyword("ILIKE")
            advance()
            let pattern = try concatenation()
            var escape: SQLExpr? = nil
            if acceptKeyword("ESCAPE") { escape = try concatenation() }
            return .like(lhs, pattern, escape: escape, caseInsensitive: caseInsensitive, negated: negated)
        }
        if isKeyword("SIMILAR") || isKeyword("GLOB") { throw semantic("\(current.keyword ?? "") is not supported; use LIKE or regexp_matches") }
        if negated { throw fail("BETWEEN, IN, LIKE or ILIKE after NOT") }
        return lhs
    }

    mutating func concatenation() throws(QueryError) -> SQLExpr {
        let entered = depth
        defer { depth = entered }
        var lhs = try additive()
        while accept("||") {
            try enter()
            lhs = .binary("||", lhs, try additive())
        }
        return lhs
    }

    mutating func additive() throws(QueryError) -> SQLExpr {
        let entered = depth
        defer { depth = entered }
        var lhs = try multiplicative()
        while true {
            let op: String
            if accept("+") { op = "+" } else if accept("-") { op = "-" } else { return lhs }
            try enter()
            lhs = .binary(op, lhs, try multiplicative())
        }
    }

    mutating func multiplicative() throws(QueryError) -> SQLExpr {
        let entered = depth
        defer { depth = entered }
        var lhs = try unary()
        while true {
            let op: String
            if accept("*") { op = "*" } else if accept("//") { op = "//" } else if accept("/") { op = "/" } else if accept("%") { op = "%" } else { return lhs }
            try enter()
            lhs = .binary(op, lhs, try unary())
        }
    }

    mutating func unary() throws(QueryError) -> SQLExpr {
        if isSymbol("-") {
            advance()
            // `-9223372036854775808` is read whole (its magnitude alone does not fit).
            if case .integer(let digits) = current.kind {
                guard let value = Int64("-" + digits) else { throw semantic("integer literal -\(digits) is out of the 64-bit range") }
                advance()
                return try postfix(.literal(.int64(value)))
            }
            if case .real(let value) = current.kind {
                advance()
                return try postfix(.literal(.float64(-value)))
            }
            try enter()
            defer { depth -= 1 }
            return .unary("-", try unary())
        }
        if accept("+") {
            try enter()
            defer { depth -= 1 }
            return try unary()
        }
        return try postfix(try primary())
    }

    /// `::type` casts and `[index]` subscripts after a primary.
    mutating func postfix(_ base: SQLExpr) throws(QueryError) -> SQLExpr {
        var expr = base
        let entered = depth
        defer { depth = entered }
        while true {
            if isSymbol("::") {
                let at = current.position
                advance()
                try enter()
                expr = .cast(expr, type: try typeName(), isTry: false, at: at)
            } else if accept("[") {
                try enter()
                let index = try expression()
                if isSymbol(":") { throw semantic("list slices are not supported") }
                try expect("]")
                expr = .element(expr, index)
            } else {
                return expr
            }
        }
    }

    /// A type name: words (`DOUBLE PRECISION`, `TIMESTAMP WITH TIME ZONE`) and an optional
    /// parenthesised size (`VARCHAR(10)`, `DECIMAL(18, 3)`), uppercased.
    mutating func typeName() throws(QueryError) -> String {
        guard case .word(let first) = current.kind else { throw fail("a type name") }
        advance()
        var words = [first.uppercased()]
        while let word = current.keyword, ["PRECISION", "VARYING", "WITH", "WITHOUT", "TIME", "ZONE"].contains(word) {
            words.append(word)
            advance()
        }
        if accept("(") {
            while !isSymbol(")") {
                guard case .integer = current.kind else { throw fail("a size in the type") }
                advance()
                if !accept(",") { break }
            }
            try expect(")")
        }
        if accept("[") { throw semantic("list types are not supported") }
        return words.joined(separator: " ")
    }
}
