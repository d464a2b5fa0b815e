// The SQL functions Kyma knows (docs/sql.md), by name: scalar functions map to plan functions
// with DuckDB's meaning, aggregates to plan aggregates (arg_max's arguments swapped to the
// plan's order, quantiles checked, FILTER and DISTINCT carried).

import KymaCore
import KymaPlan

enum SQLFunctions {
    static let scalarNames: [String: ScalarFunction] = [
        "lower": .toLower, "lcase": .toLower, "upper": .toUpper, "ucase": .toUpper,
        "length": .length, "char_length": .length, "character_length": .length, "len": .length,
        "substr": .substring, "substring": .substring, "concat": .concat, "trim": .trim, "ltrim": .ltrim, "rtrim": .rtrim,
        "starts_with": .startsWith, "prefix": .startsWith, "ends_with": .endsWith, "suffix": .endsWith, "contains": .strContains,
        "replace": .replace, "left": .left, "right": .right, "strpos": .strpos, "instr": .strpos, "position": .strpos,
        "regexp_matches": .regexpMatches, "regexp_full_match": .regexpFullMatch,
        "coalesce": .coalesce, "ifnull": .coalesce, "nullif": .nullIf, "greatest": .greatest, "least": .least,
        "abs": .abs, "floor": .floor, "ceil": .ceil, "ceiling": .ceil, "round": .round,
        "date_trunc": .dateTrunc, "datetrunc": .dateTrunc, "date_part": .datePart, "datepart": .datePart,
        "now": .now, "current_timestamp": .now, "get_current_timestamp": .now,
        "list_sort": .listSort, "array_sort": .listSort, "list_element": .listElement, "list_extract": .listElement, "array_extract": .listElement,
        "if": .iff, "iff": .iff, "isnull": .isNull,
    ]

    static let aggregateNames: Set<String> = [
        "count", "count_if", "countif", "sum", "avg", "mean", "min", "max", "approx_count_distinct", "quantile_cont", "quantile", "median",
        "quantile_disc", "percentile_cont", "percentile_disc", "approx_quantile", "arg_max", "argmax", "max_by", "arg_min", "argmin",
        "min_by", "list", "array_agg", "make_set",
    ]

    static func isAggregate(_ name: String) -> Bool { aggregateNames.contains(name) }

    static func containsAggregate(_ e: SQLExpr) -> Bool {
        if case .function(let call) = e, isAggregate(call.name) { return true }
        return SQLNames.children(e).contains(where: containsAggregate)
    }

    /// The aggregate calls in `e` (outermost only), in order, each once.
    static func aggregateCalls(_ e: SQLExpr, into calls: inout [SQLCall]) {
        if case .function(let call) = e, isAggregate(call.name) {
            if !calls.contains(call) { calls.append(call) }
            return
        }
        for child in SQLNames.children(e) { aggregateCalls(child, into: &calls) }
    }

    static func castTarget(_ type: String) -> CastTarget? {
        let base = type.split(separator: " ").first.map(String.init) ?? type
        switch base {
        case "BOOLEAN", "BOOL", "LOGICAL": return .bool
        case "INTEGER", "INT", "INT4", "INT32", "SIGNED", "SMALLINT", "INT2", "TINYINT", "INT1": return .int32
        case "BIGINT", "INT8", "INT64", "LONG", "HUGEINT", "UBIGINT", "UINTEGER": return .int64
        case "DOUBLE", "FLOAT8", "REAL", "FLOAT", "FLOAT4", "DECIMAL", "NUMERIC": return .float64
        case "VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR", "CHARACTER": return .string
        case "TIMESTAMP", "DATETIME", "TIMESTAMPTZ", "TIMESTAMP_US", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S": return .timestamp
        default: return nil
        }
    }

    // MARK: - Scalar functions

    static func scalar(_ call: SQLCall, translator: SQLTranslator, scope: SQLTranslator.Scope, hook: SQLTranslator.Hook?) throws(QueryError) -> Expr {
        func fail(_ message: String) -> QueryError { .semantic(message, at: call.at) }
        guard !call.distinct, call.filter == nil, call.withinGroup == nil else {
            throw fail("DISTINCT, FILTER and WITHIN GROUP apply to aggregate functions, not \(call.name)()")
        }
        var arguments: [Expr] = []
        // A bucket width of months is not a timespan: it is read here, not translated.
        let monthsWidth: Int64? = if ["time_bucket", "date_bin"].contains(call.name), case .interval(let w)? = call.arguments.first, w.months != 0 { w.months } else { nil }
        if let monthsWidth {
            guard case .interval(let w)? = call.arguments.first, w.nanos == 0 else { throw fail("a bucket width mixes months and days") }
            arguments.append(.literal(.int64(monthsWidth)))
            for argument in call.arguments.dropFirst() { arguments.append(try translator.scalar(argument, scope, hook)) }
        } else {
            for argument in call.arguments { arguments.append(try translator.scalar(argument, scope, hook)) }
        }
        switch call.name {
        case "has", "has_cs":
            // KQL's term search: the inverted index answers it.
            guard arguments.count == 2 else { throw fail("\(call.name)(text, term) takes 2 arguments, got \(arguments.count)") }
            return .text(call.name == "has" ? .has : .hasCaseSensitive, arguments[0], arguments[1], negated: false)
        case "time_bucket", "date_bin":
            guard arguments.count == 2 || arguments.count == 3 else { throw fail("\(call.name)(width, time [, origin]) takes 2 or 3 arguments") }
            if monthsWidth != nil { return .call(.timeBucketMonths, arguments) }
            if call.name == "date_bin", arguments.count == 2 {
                return .call(.timeBucket, arguments + [.literal(.timestamp(0))])  // PostgreSQL's date_bin counts from the epoch
            }
            return .call(.timeBucket, arguments)
        case "typeof":
            throw fail("typeof() is not supported")
        default:
            break
        }
        guard let function = scalarNames[call.name] else {
            throw fail("unknown function \(call.name)() (see docs/sql.md for the functions Kyma has)")
        }
        let allowed = ScalarFunctions.arity(function)
        guard allowed.contains(arguments.count) else {
            let count = allowed.lowerBound == allowed.upperBound ? "\(allowed.lowerBound)" : allowed.upperBound == Int.max ? "at least \(allowed.lowerBound)" : "\(allowed.lowerBound) to \(allowed.upperBound)"
            throw fail("\(call.name)() takes \(count) argument(s), got \(arguments.count)")
        }
        return .call(function, arguments)
    }

    // MARK: - Aggregates

    /// The plan aggregate of `call`, whose value ends up in column `outputName` (also returned).
    static func aggregate(_ call: SQLCall, translator: inout SQLTranslator, scope: SQLTranslator.Scope,
                          outputName: String) throws(QueryError) -> (Aggregate, String) {
        func fail(_ message: String) -> QueryError { .semantic(message, at: call.at) }
        let star = call.arguments == [.star]
        var arguments: [Expr] = []
        if !star { for argument in call.arguments { arguments.append(try translator.scalar(argument, scope)) } }
        var filter = try call.filter.map { f throws(QueryError) in try translator.scalar(f, scope) }
        func count(_ n: Int) throws(QueryError) {
            guard arguments.count == n, !star else { throw fail("\(call.name)() takes \(n) argument\(n == 1 ? "" : "s"), got \(star ? "*" : String(arguments.count))") }
        }
        func plain(_ function: AggregateFunction, distinctAllowed: Bool = true) throws(QueryError) -> (Aggregate, String) {
            guard distinctAllowed || !call.distinct else { throw fail("DISTINCT is not supported in \(call.name)()") }
            return (Aggregate(function, arguments, outputNames: [outputName], distinct: call.distinct, filter: filter), outputName)
        }
        func fraction(_ e: SQLExpr) throws(QueryError) -> Double {
            let value: Double
            switch e {
            case .literal(.int64(let v)): value = Double(v)
            case .literal(.float64(let v)): value = v
            default: throw fail("\(call.name)() needs a constant quantile between 0 and 1")
            }
            guard (0...1).contains(value) else { throw fail("quantile \(value) is outside 0...1") }
            return value
        }
        if call.withinGroup != nil, !["percentile_cont", "percentile_disc", "quantile_cont", "quantile_disc"].contains(call.name) {
            throw fail("WITHIN GROUP applies to percentile_cont and percentile_disc, not \(call.name)()")
        }
        switch call.name {
        case "count":
            if star {
                guard !call.distinct else { throw fail("count(DISTINCT *) is not supported") }
                arguments = []
                return try plain(.count)
            }
            try count(1)
            return try plain(.count)
        case "count_if", "countif":
            try count(1)
            return try plain(.countIf, distinctAllowed: false)
        case "sum": try count(1); return try plain(.sum)
        case "avg", "mean": try count(1); return try plain(.avg)
        case "min": try count(1); return try plain(.min)
        case "max": try count(1); return try plain(.max)
        case "approx_count_distinct": try count(1); return try plain(.dcount(precision: 14), distinctAllowed: false)
        case "list", "array_agg": try count(1); return try plain(.list)
        case "make_set": try count(1); return try plain(.makeSet(limit: 1_048_576), distinctAllowed: false)
        case "median": try count(1); return try plain(.quantileContinuous(0.5), distinctAllowed: false)
        case "quantile_cont", "quantile", "quantile_disc", "approx_quantile", "percentile_cont", "percentile_disc":
            guard !call.distinct else { throw fail("DISTINCT is not supported in \(call.name)()") }
            let discrete = call.name == "quantile_disc" || call.name == "approx_quantile" || call.name == "percentile_disc"
            let q: Double
            if let order = call.withinGroup {
                // percentile_cont(q) WITHIN GROUP (ORDER BY x [DESC])
                guard call.arguments.count == 1 else { throw fail("\(call.name)(q) WITHIN GROUP (ORDER BY x) takes one quantile") }
                q = try fraction(call.arguments[0])
                if order.descending, discrete { throw fail("DESC in WITHIN GROUP is supported for percentile_cont only") }
                arguments = [try translator.scalar(order.expr, scope)]
                if order.descending {
                    return (Aggregate(.quantileContinuousDescending(q), arguments, outputNames: [outputName], filter: filter), outputName)
                }
            } else {
                guard call.arguments.count == 2, !star else { throw fail("\(call.name)(x, q) takes a value and a quantile") }
                q = try fraction(call.arguments[1])
                arguments = [arguments[0]]
            }
            return (Aggregate(discrete ? .quantileDiscrete(q) : .quantileContinuous(q), arguments, outputNames: [outputName], filter: filter), outputName)
        case "arg_max", "argmax", "max_by", "arg_min", "argmin", "min_by":
            try count(2)
            guard !call.distinct else { throw fail("DISTINCT is not supported in \(call.name)()") }
            // DuckDB: arg_max(arg, value), rows where either is null are skipped. The plan's
            // arg_max takes the value first and returns it too (in a hidden column).
            let skipNulls = Expr.and([.call(.isNotNull, [arguments[1]]), .call(.isNotNull, [arguments[0]])])
            filter = filter.map { .and([$0, skipNulls]) } ?? skipNulls
            let maximise = ["arg_max", "argmax", "max_by"].contains(call.name)
            let hiddenValue = translator.hiddenName("argvalue")
            return (Aggregate(maximise ? .argMax : .argMin, [arguments[1], arguments[0]], outputNames: [hiddenValue, outputName], filter: filter), outputName)
        default:
            throw fail("unknown aggregate function \(call.name)()")
        }
    }
}
