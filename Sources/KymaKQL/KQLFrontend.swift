// KymaKQL: the Kusto Query Language frontend. Parses the supported KQL subset (docs/kql.md)
// into a `LogicalPlan` by recursive descent; every syntax error names line:column and what was
// expected. Knows nothing of storage: names are resolved by the planner.

import KymaCore
import KymaPlan

public struct KQLFrontend: QueryFrontend {
    public let name = "kql"

    public init() {}

    public func parseStatement(_ text: String) throws(QueryError) -> Statement {
        var parser = KQLParser(tokens: try KQLLexer.tokenize(text), text: Array(text.utf8))
        return .query(try parser.query())
    }

    public func parseExpression(_ text: String) throws(QueryError) -> Expr {
        var parser = KQLParser(tokens: try KQLLexer.tokenize(text), text: Array(text.utf8))
        let expr = try parser.expression()
        guard parser.isEnd else { throw parser.fail("the end of the expression") }
        return expr
    }

    /// A table name, then `|` or nothing: `T`, `T | where ...`.
    public func claims(_ text: String) -> Bool {
        guard let tokens = try? KQLLexer.tokenize(text), tokens.count >= 2, case .identifier(let first) = tokens[0].kind else { return false }
        if ["select", "with", "explain", "values", "from"].contains(first.lowercased()) {
            if case .symbol("|") = tokens[1].kind { return true }
            if case .end = tokens[1].kind { return true }
            return false
        }
        switch tokens[1].kind {
        case .symbol("|"), .end: return true
        default: return false
        }
    }
}

struct KQLParser {
    let tokens: [KQLToken]
    let text: [UInt8]
    var position = 0
    /// Counter for `Column1`, `Column2`... names of unnamed computed columns.
    var unnamed = 0

    init(tokens: [KQLToken], text: [UInt8]) {
        self.tokens = tokens
        self.text = text
    }

    var current: KQLToken { tokens[position] }
    /// The token after the current one (the end token repeats at the end).
    var next: KQLToken { tokens[min(position + 1, tokens.count - 1)] }
    /// How deep the parse is nested; bounds the expression tree's depth (QueryLimits).
    var depth = 0

    mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    func fail(_ expected: String) -> QueryError {
        .syntax(line: current.line, column: current.column, found: current.display, expected: expected)
    }

    func semantic(_ message: String, at token: KQLToken? = nil) -> QueryError {
        let where_ = token ?? current
        return .semantic(message, at: SourcePosition(line: where_.line, column: where_.column))
    }

    /// Enters one level of nesting; past the limit the query is refused, not recursed into.
    mutating func enter() throws(QueryError) {
        depth += 1
        if depth > QueryLimits.maxExpressionDepth {
            throw semantic("expression nested deeper than \(QueryLimits.maxExpressionDepth) levels")
        }
    }

    func isSymbol(_ symbol: String) -> Bool {
        if case .symbol(symbol) = current.kind { return true }
        return false
    }

    func isKeyword(_ word: String) -> Bool {
        if case .identifier(let name) = current.kind { return name == word }
        return false
    }

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
        guard acceptKeyword(word) else { throw fail("'\(word)'") }
    }

    mutating func identifier(_ what: String) throws(QueryError) -> String {
        if case .identifier(let name) = current.kind {
            advance()
            return name
        }
        // ['name with spaces'] brackets quote a column name.
        if isSymbol("[") {
            advance()
            guard case .string(let name) = current.kind else { throw fail("a quoted name") }
            advance()
            try expect("]")
            return name
        }
        throw fail(what)
    }

    mutating func integer(_ what: String) throws(QueryError) -> Int64 {
        guard case .integer(let value) = current.kind else { throw fail(what) }
        advance()
        return value
    }

    // MARK: - Query and operators

    mutating func query() throws(QueryError) -> LogicalPlan {
        let table = try identifier("a table name")
        var plan = LogicalPlan(table: table)
        while accept("|") {
            plan.operators.append(try tabularOperator())
        }
        guard case .end = current.kind else { throw fail("'|' or the end of the query") }
        return plan
    }

    mutating func tabularOperator() throws(QueryError) -> PlanOperator {
        guard case .identifier(let word) = current.kind else { throw fail("an operator (where, project, summarize, ...)") }
        advance()
        switch word {
        case "where", "filter":
            return .filter(try expression())
        case "project":
            return .project(try namedList(requireNames: false))
        case "project-away":
            var names = [try identifier("a column name")]
            while accept(",") { names.append(try identifier("a column name")) }
            return .projectAway(names)
        case "extend":
            return .extend(try namedList(requireNames: false))
        case "summarize":
            var aggregates: [Aggregate] = []
            if !isKeyword("by") {
                repeat { aggregates.append(contentsOf: try aggregate()) } while accept(",")
            }
            var keys: [NamedExpr] = []
            if acceptKeyword("by") { keys = try namedList(requireNames: false) }
            if aggregates.isEmpty && keys.isEmpty { throw fail("an aggregate or 'by'") }
            return .aggregate(keys: keys, aggregates: aggregates)
        case "top":
            let count = try integer("a row count")
            guard count >= 0 else { throw semantic("top needs a non-negative row count, not \(count)") }
            try expectKeyword("by")
            return .top(count: Int(count), by: try sortKeys())
        case "order", "sort":
            try expectKeyword("by")
            return .sort(try sortKeys())
        case "take", "limit":
            let count = try integer("a row count")
            guard count >= 0 else { throw fail("a non-negative row count") }
            return .limit(Int(count))
        case "count":
            return .count
        case "distinct":
            return .distinct(try namedList(requireNames: false))
        default:
            position -= 1
            throw fail("an operator (where, project, project-away, extend, summarize, top, order by, sort by, take, limit, count, distinct)")
        }
    }

    mutating func namedList(requireNames: Bool) throws(QueryError) -> [NamedExpr] {
        var items: [NamedExpr] = []
        repeat {
            // `name = expr` (lookahead for a single `=`).
            if case .identifier(let name) = current.kind, case .symbol("=") = next.kind {
                advance()
                advance()
                items.append(NamedExpr(name, try expression()))
            } else {
                let expr = try expression()
                items.append(NamedExpr(defaultName(expr), expr))
            }
        } while accept(",")
        return items
    }

    mutating func defaultName(_ expr: Expr) -> String {
        switch expr {
        case .column(let name): return name
        case .call(.bin, let arguments):
            if case .column(let name)? = arguments.first { return name }
        default: break
        }
        unnamed += 1
        return "Column\(unnamed)"
    }

    mutating func sortKeys() throws(QueryError) -> [SortKey] {
        var keys: [SortKey] = []
        repeat {
            let expr = try expression()
            var descending = true
            if acceptKeyword("asc") { descending = false } else if acceptKeyword("desc") { descending = true }
            var nullsFirst: Bool? = nil
            if acceptKeyword("nulls") {
                if acceptKeyword("first") { nullsFirst = true } else if acceptKeyword("last") { nullsFirst = false } else {
                    throw fail("'first' or 'last'")
                }
            }
            keys.append(SortKey(expr, descending: descending, nullsFirst: nullsFirst))
        } while accept(",")
        return keys
    }

    // MARK: - Aggregates

    mutating func aggregate() throws(QueryError) -> [Aggregate] {
        var explicitName: String? = nil
        if case .identifier(let name) = current.kind, case .symbol("=") = next.kind {
            explicitName = name
            advance()
            advance()
        }
        let functionToken = current
        guard case .identifier(let function) = current.kind, case .symbol("(") = next.kind else {
            throw fail("an aggregate function such as count(), sum(x), dcount(x)")
        }
        advance()
        advance()
        var arguments: [Expr] = []
        if !isSymbol(")") {
            repeat { arguments.append(try expression()) } while accept(",")
        }
        try expect(")")
        func argumentName(_ index: Int) -> String {
            if index < arguments.count, case .column(let name) = arguments[index] { return name }
            return ""
        }
        func require(_ count: Int) throws(QueryError) {
            guard arguments.count == count else {
                throw semantic("\(function)() takes \(count) argument\(count == 1 ? "" : "s"), got \(arguments.count)", at: functionToken)
            }
        }
        func named(_ fallback: String) -> [String] { [explicitName ?? fallback] }
        switch function {
        case "count":
            try require(0)
            return [Aggregate(.count, [], outputNames: named("count_"))]
        case "countif":
            try require(1)
            return [Aggregate(.countIf, arguments, outputNames: named("countif_"))]
        case "sum", "avg", "min", "max":
            try require(1)
            let kind: AggregateFunction = function == "sum" ? .sum : function == "avg" ? .avg : function == "min" ? .min : .max
            return [Aggregate(kind, arguments, outputNames: named("\(function)_\(argumentName(0))"))]
        case "dcount":
            guard arguments.count == 1 || arguments.count == 2 else { throw semantic("dcount() takes 1 or 2 arguments", at: functionToken) }
            var accuracy: Int64 = 1
            if arguments.count == 2 {
                guard case .literal(.int64(let level)) = arguments[1], (0...4).contains(level) else {
                    throw semantic("dcount() accuracy must be an integer 0...4", at: functionToken)
                }
                accuracy = level
            }
            // Kusto's accuracy levels: standard error 1.6%, 0.8%, 0.4%, 0.28%, 0.2% = 1.04/sqrt(2^p).
            let precision = [12, 14, 16, 17, 18][Int(accuracy)]
            return [Aggregate(.dcount(precision: precision), [arguments[0]], outputNames: named("dcount_\(argumentName(0))"))]
        case "percentile", "percentiles":
            guard arguments.count >= 2 else { throw semantic("\(function)() takes a value and at least one percentile", at: functionToken) }
            var result: [Aggregate] = []
            for argument in arguments.dropFirst() {
                let p: Double
                switch argument {
                case .literal(.int64(let v)): p = Double(v)
                case .literal(.float64(let v)): p = v
                default: throw semantic("\(function)() percentiles must be numbers", at: functionToken)
                }
                guard (0...100).contains(p) else { throw semantic("percentile \(p) is outside 0...100", at: functionToken) }
                let suffix = p == p.rounded() ? String(Int(p)) : String(p).split(separator: ".").joined(separator: "_")
                let outName = (function == "percentile" ? explicitName : nil) ?? "percentile_\(argumentName(0))_\(suffix)"
                result.append(Aggregate(.percentile(p), [arguments[0]], outputNames: [outName]))
            }
            if function == "percentile" && result.count != 1 { throw semantic("percentile() takes one percentile; use percentiles()", at: functionToken) }
            return result
        case "arg_max", "arg_min":
            guard arguments.count >= 1 else { throw semantic("\(function)() takes the value to maximise and the columns to return", at: functionToken) }
            var names: [String] = []
            for index in arguments.indices {
                let name = argumentName(index)
                guard !name.isEmpty || index == 0 else { throw semantic("\(function)() returns columns: its arguments after the first must be column names", at: functionToken) }
                names.append(name.isEmpty ? (explicitName ?? "\(function == "arg_max" ? "max" : "min")_") : (index == 0 ? (explicitName ?? name) : name))
            }
            return [Aggregate(function == "arg_max" ? .argMax : .argMin, arguments, outputNames: names)]
        case "make_set":
            guard arguments.count == 1 || arguments.count == 2 else { throw semantic("make_set() takes 1 or 2 arguments", at: functionToken) }
            var limit: Int64 = 1_048_576
            if arguments.count == 2 {
                guard case .literal(.int64(let value)) = arguments[1], value > 0 else { throw semantic("make_set() size limit must be a positive integer", at: functionToken) }
                limit = value
            }
            return [Aggregate(.makeSet(limit: Int(limit)), [arguments[0]], outputNames: named("set_\(argumentName(0))"))]
        default:
            throw semantic("unknown aggregate function '\(function)' (supported: count, countif, sum, avg, min, max, dcount, percentile, percentiles, arg_max, arg_min, make_set)", at: functionToken)
        }
    }

    // MARK: - Expressions (precedence: or < and < comparison < additive < multiplicative < unary)

    mutating func expression() throws(QueryError) -> Expr {
        try enter()
        defer { depth -= 1 }
        var parts = [try conjunction()]
        while acceptKeyword("or") { parts.append(try conjunction()) }
        return parts.count == 1 ? parts[0] : .or(parts)
    }

    mutating func conjunction() throws(QueryError) -> Expr {
        var parts = [try comparison()]
        while acceptKeyword("and") { parts.append(try comparison()) }
        return parts.count == 1 ? parts[0] : .and(parts)
    }

    static let comparisons: [String: CompareOperator] = ["==": .equal, "!=": .notEqual, "<>": .notEqual, "<": .less, "<=": .lessOrEqual, ">": .greater, ">=": .greaterOrEqual]
    static let textOperators: [String: (TextOperator, Bool)] = [
        "has": (.has, false), "!has": (.has, true), "has_cs": (.hasCaseSensitive, false), "!has_cs": (.hasCaseSensitive, true),
        "contains": (.contains, false), "!contains": (.contains, true), "contains_cs": (.containsCaseSensitive, false),
        "!contains_cs": (.containsCaseSensitive, true), "startswith": (.startsWith, false), "!startswith": (.startsWith, true),
        "endswith": (.endsWith, false), "!endswith": (.endsWith, true), "=~": (.equalsIgnoringCase, false), "!~": (.equalsIgnoringCase, true),
    ]

    mutating func comparison() throws(QueryError) -> Expr {
        let lhs = try additive()
        let word: String
        switch current.kind {
        case .symbol(let s): word = s
        case .identifier(let s): word = s
        default: return lhs
        }
        if let op = Self.comparisons[word] {
            advance()
            return .compare(op, lhs, try additive())
        }
        if let (op, negated) = Self.textOperators[word] {
            advance()
            return .text(op, lhs, try additive(), negated: negated)
        }
        if word == "in" || word == "!in" {
            advance()
            try expect("(")
            var items: [Expr] = []
            repeat { items.append(try additive()) } while accept(",")
            try expect(")")
            return .inList(lhs, items, negated: word == "!in")
        }
        if word == "between" || word == "!between" {
            advance()
            try expect("(")
            let low = try additive()
            try expect("..")
            let high = try additive()
            try expect(")")
            return .between(lhs, low: low, high: high, negated: word == "!between")
        }
        return lhs
    }

    mutating func additive() throws(QueryError) -> Expr {
        let entered = depth
        defer { depth = entered }
        var lhs = try multiplicative()
        while true {
            let op: ArithmeticOperator
            if accept("+") { op = .add } else if accept("-") { op = .subtract } else { return lhs }
            try enter()  // each operand of a chain is one level deeper in the tree
            lhs = .arithmetic(op, lhs, try multiplicative())
        }
    }

    mutating func multiplicative() throws(QueryError) -> Expr {
        let entered = depth
        defer { depth = entered }
        var lhs = try unary()
        while true {
            let op: ArithmeticOperator
            if accept("*") { op = .multiply } else if accept("/") { op = .divide } else if accept("%") { op = .modulo } else { return lhs }
            try enter()
            lhs = .arithmetic(op, lhs, try unary())
        }
    }

    mutating func unary() throws(QueryError) -> Expr {
        if accept("-") {
            try enter()
            defer { depth -= 1 }
            let inner = try unary()
            switch inner {
            case .literal(.int64(let v)) where v != .min: return .literal(.int64(-v))
            case .literal(.float64(let v)): return .literal(.float64(-v))
            case .timespan(let v): return .timespan(-v)
            default: return .negate(inner)
            }
        }
        if accept("+") {
            try enter()
            defer { depth -= 1 }
            return try unary()
        }
        return try primary()
    }

    mutating func primary() throws(QueryError) -> Expr {
        let token = current
        switch token.kind {
        case .integer(let v):
            advance()
            return .literal(.int64(v))
        case .real(let v):
            advance()
            return .literal(.float64(v))
        case .timespan(let v):
            advance()
            return .timespan(v)
        case .string(let s):
            advance()
            return .literal(.string(s))
        case .symbol("("):
            advance()
            let inner = try expression()
            try expect(")")
            return inner
        case .symbol("["):
            return .column(try identifier("a column name"))
        case .identifier(let name):
            advance()
            switch name {
            case "true": return .literal(.bool(true))
            case "false": return .literal(.bool(false))
            default: break
            }
            guard isSymbol("(") else { return .column(name) }
            return try call(name, at: token)
        default:
            throw fail("a value: a column, number, string, timespan or function call")
        }
    }

    mutating func call(_ name: String, at token: KQLToken) throws(QueryError) -> Expr {
        switch name {
        case "datetime":
            try expect("(")
            guard case .string(let raw) = current.kind else { throw fail("a date such as datetime(2024-01-31)") }
            let text = raw.trimmingWhitespace
            let nanos: Int64
            switch TimestampText.read(text, form: .literal) {
            case .nanos(let value): nanos = value
            case .outOfRange:
                throw semantic("datetime(\(text)) is outside the range of datetimes (1677-09-21 to 2262-04-11)")
            case .malformed:
                throw QueryError.syntax(line: current.line, column: current.column, found: "'\(text)'",
                                        expected: "a date such as datetime(2024-01-31) or datetime(2024-01-31T12:00:00Z)")
            }
            advance()
            try expect(")")
            return .literal(.timestamp(nanos))
        case "timespan", "time":
            try expect("(")
            let value: Int64
            switch current.kind {
            case .timespan(let v): value = v
            case .integer(let days):
                let (nanos, overflow) = days.multipliedReportingOverflow(by: 86_400_000_000_000)
                guard !overflow else { throw semantic("timespan(\(days)) is out of range") }
                value = nanos
            default: throw fail("a timespan such as 5m")
            }
            advance()
            try expect(")")
            return .timespan(value)
        default: break
        }
        try expect("(")
        var arguments: [Expr] = []
        if !isSymbol(")") {
            repeat { arguments.append(try expression()) } while accept(",")
        }
        try expect(")")
        func arity(_ n: Int) throws(QueryError) {
            guard arguments.count == n else {
                throw semantic("\(name)() takes \(n) argument\(n == 1 ? "" : "s"), got \(arguments.count)", at: token)
            }
        }
        switch name {
        case "not":
            try arity(1)
            return .not(arguments[0])
        case "ago":
            try arity(1)
            return .arithmetic(.subtract, .call(.now, []), arguments[0])
        case "now":
            guard arguments.count <= 1 else { try arity(1); return .call(.now, []) }
            return arguments.isEmpty ? .call(.now, []) : .arithmetic(.add, .call(.now, []), arguments[0])
        case "floor":
            try arity(2)
            return .call(.bin, arguments)
        case "tostring", "toint", "tolong", "todouble", "toreal", "tobool", "todatetime":
            try arity(1)
            let target: CastTarget = switch name {
            case "tostring": .string
            case "todouble", "toreal": .float64
            case "tobool": .bool
            case "todatetime": .timestamp
            default: .int64
            }
            return .cast(arguments[0], target, .kusto)
        default:
            guard let function = Self.functions[name] else {
                throw QueryError.syntax(line: token.line, column: token.column, found: "'\(name)('",
                                        expected: "a known function (\(Self.functionNames.joined(separator: ", ")))")
            }
            let allowed = ScalarFunctions.arity(function)
            guard allowed.contains(arguments.count) else {
                throw semantic("\(name)() takes \(allowed.lowerBound == allowed.upperBound ? String(allowed.lowerBound) : "\(allowed.lowerBound) or more") argument(s), got \(arguments.count)", at: token)
            }
            return .call(function, arguments)
        }
    }

    /// KQL's functions and the plan functions they are (same meaning as in Kusto).
    static let functions: [String: ScalarFunction] = [
        "isnull": .isNull, "isnotnull": .isNotNull, "isempty": .isEmpty, "isnotempty": .isNotEmpty, "bin": .bin,
        "strlen": .strlen, "tolower": .toLower, "toupper": .toUpper, "iff": .iff, "iif": .iff, "coalesce": .coalesce,
        "strcat": .concat,
    ]

    static let functionNames: [String] = (functions.keys + ["ago", "now", "not", "datetime", "timespan", "floor", "tostring", "toint", "tolong", "todouble", "toreal", "tobool", "todatetime"]).sorted()

    var isEnd: Bool {
        if case .end = current.kind { return true }
        return false
    }
}
