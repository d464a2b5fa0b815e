// KymaKQL: the Kusto Query Language frontend. Parses the supported KQL subset (docs/kql.md)
// into a `LogicalPlan` by recursive descent; every syntax error names line:column and what was
// expected. Knows nothing of storage: names are resolved by the planner.

import KymaCore
import KymaPlan

public struct KQLFrontend: QueryFrontend {
    public let name = "kql"

    public init() {}

    public func parse(_ text: String) throws(QueryError) -> LogicalPlan {
        var parser = KQLParser(tokens: try KQLLexer.tokenize(text), text: Array(text.utf8))
        return try parser.query()
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

    mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    func fail(_ expected: String) -> QueryError {
        .syntax(line: current.line, column: current.column, found: current.display, expected: expected)
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
            if case .identifier(let name) = current.kind, case .symbol("=") = tokens[position + 1].kind {
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
        if case .identifier(let name) = current.kind, case .symbol("=") = tokens[position + 1].kind {
            explicitName = name
            advance()
            advance()
        }
        guard case .identifier(let function) = current.kind, case .symbol("(") = tokens[position + 1].kind else {
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
                throw QueryError.semantic("\(function)() takes \(count) argument\(count == 1 ? "" : "s"), got \(arguments.count)")
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
            guard arguments.count == 1 || arguments.count == 2 else { throw QueryError.semantic("dcount() takes 1 or 2 arguments") }
            var accuracy: Int64 = 1
            if arguments.count == 2 {
                guard case .literal(.int64(let level)) = arguments[1], (0...4).contains(level) else {
                    throw QueryError.semantic("dcount() accuracy must be an integer 0...4")
                }
                accuracy = level
            }
            // Kusto's accuracy levels: standard error 1.6%, 0.8%, 0.4%, 0.28%, 0.2% = 1.04/sqrt(2^p).
            let precision = [12, 14, 16, 17, 18][Int(accuracy)]
            return [Aggregate(.dcount(precision: precision), [arguments[0]], outputNames: named("dcount_\(argumentName(0))"))]
        case "percentile", "percentiles":
            guard arguments.count >= 2 else { throw QueryError.semantic("\(function)() takes a value and at least one percentile") }
            var result: [Aggregate] = []
            for argument in arguments.dropFirst() {
                let p: Double
                switch argument {
                case .literal(.int64(let v)): p = Double(v)
                case .literal(.float64(let v)): p = v
                default: throw QueryError.semantic("\(function)() percentiles must be numbers")
                }
                guard (0...100).contains(p) else { throw QueryError.semantic("percentile \(p) is outside 0...100") }
                let suffix = p == p.rounded() ? String(Int(p)) : String(p).split(separator: ".").joined(separator: "_")
                let outName = (function == "percentile" ? explicitName : nil) ?? "percentile_\(argumentName(0))_\(suffix)"
                result.append(Aggregate(.percentile(p), [arguments[0]], outputNames: [outName]))
            }
            if function == "percentile" && result.count != 1 { throw QueryError.semantic("percentile() takes one percentile; use percentiles()") }
            return result
        case "arg_max", "arg_min":
            guard arguments.count >= 1 else { throw QueryError.semantic("\(function)() takes the value to maximise and the columns to return") }
            var names: [String] = []
            for index in arguments.indices {
                let name = argumentName(index)
                guard !name.isEmpty || index == 0 else { throw QueryError.semantic("\(function)() returns columns: its arguments after the first must be column names") }
                names.append(name.isEmpty ? (explicitName ?? "\(function == "arg_max" ? "max" : "min")_") : (index == 0 ? (explicitName ?? name) : name))
            }
            return [Aggregate(function == "arg_max" ? .argMax : .argMin, arguments, outputNames: names)]
        case "make_set":
            guard arguments.count == 1 || arguments.count == 2 else { throw QueryError.semantic("make_set() takes 1 or 2 arguments") }
            var limit: Int64 = 1_048_576
            if arguments.count == 2 {
                guard case .literal(.int64(let value)) = arguments[1], value > 0 else { throw QueryError.semantic("make_set() size limit must be a positive integer") }
                limit = value
            }
            return [Aggregate(.makeSet(limit: Int(limit)), [arguments[0]], outputNames: named("set_\(argumentName(0))"))]
        default:
            throw QueryError.semantic("unknown aggregate function '\(function)' (supported: count, countif, sum, avg, min, max, dcount, percentile, percentiles, arg_max, arg_min, make_set)")
        }
    }

    // MARK: - Expressions (precedence: or < and < comparison < additive < multiplicative < unary)

    mutating func expression() throws(QueryError) -> Expr {
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
        var lhs = try multiplicative()
        while true {
            if accept("+") { lhs = .arithmetic(.add, lhs, try multiplicative()) } else if accept("-") {
                lhs = .arithmetic(.subtract, lhs, try multiplicative())
            } else { return lhs }
        }
    }

    mutating func multiplicative() throws(QueryError) -> Expr {
        var lhs = try unary()
        while true {
            if accept("*") { lhs = .arithmetic(.multiply, lhs, try unary()) } else if accept("/") {
                lhs = .arithmetic(.divide, lhs, try unary())
            } else if accept("%") { lhs = .arithmetic(.modulo, lhs, try unary()) } else { return lhs }
        }
    }

    mutating func unary() throws(QueryError) -> Expr {
        if accept("-") {
            let inner = try unary()
            switch inner {
            case .literal(.int64(let v)): return .literal(.int64(-v))
            case .literal(.float64(let v)): return .literal(.float64(-v))
            case .timespan(let v): return .timespan(-v)
            default: return .negate(inner)
            }
        }
        if accept("+") { return try unary() }
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
            let text = KQLDateTime.trimmed(raw)
            guard let nanos = KQLDateTime.parse(text) else {
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
            case .integer(let days): value = days * 86_400_000_000_000
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
                throw QueryError.semantic("\(name)() takes \(n) argument\(n == 1 ? "" : "s"), got \(arguments.count) (line \(token.line), column \(token.column))")
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
        case "toreal": 
            try arity(1)
            return .call(.toDouble, arguments)
        default:
            guard let function = ScalarFunction(rawValue: name), function != .now else {
                throw QueryError.syntax(line: token.line, column: token.column, found: "'\(name)('",
                                        expected: "a known function (\(ScalarFunction.allCases.map(\.rawValue).joined(separator: ", ")), ago, not, datetime, timespan)")
            }
            switch function {
            case .bin: try arity(2)
            case .iff: try arity(3)
            default: try arity(1)
            }
            return .call(function, arguments)
        }
    }

    var isEnd: Bool {
        if case .end = current.kind { return true }
        return false
    }
}
