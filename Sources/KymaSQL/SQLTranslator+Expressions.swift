// SQL scalar expressions into plan expressions, with DuckDB's meaning: checked integer
// arithmetic, `/` as real division, `//` integer division, three-valued IN, LIKE with ESCAPE,
// CASE as nested conditionals, CAST and TRY_CAST with DuckDB's conversions.

import KymaCore
import KymaPlan

extension SQLTranslator {
    typealias Hook = (SQLExpr) throws(QueryError) -> Expr?

    /// `e` over the input rows. `hook` is asked first at every node (after aggregation it maps
    /// aggregate calls and group keys to their columns); nil means "translate as usual".
    func scalar(_ e: SQLExpr, _ scope: Scope, _ hook: Hook? = nil) throws(QueryError) -> Expr {
        if let hook, let replaced = try hook(e) { return replaced }
        func sub(_ x: SQLExpr) throws(QueryError) -> Expr { try scalar(x, scope, hook) }
        switch e {
        case .column(let qualifier, let name, let at):
            try checkQualifier(qualifier, scope, at: at)
            if let known = scope.columns, !known.contains(name) {
                throw .semantic("unknown column '\(name)' (the subquery gives \(known.map { "'\($0)'" }.joined(separator: ", ")))", at: at)
            }
            return .column(name)
        case .literal(let value): return .literal(value)
        case .interval(let interval):
            guard interval.months == 0 else {
                throw .semantic("intervals of months or years are only supported as bucket widths (time_bucket); use days", at: nil)
            }
            return .timespan(interval.nanos)
        case .star:
            throw .semantic("* is only allowed in count(*) and the select list", at: nil)
        case .unary(let op, let inner):
            let value = try sub(inner)
            if op == "NOT" { return .not(value) }
            switch value {
            case .literal(.int64(let v)) where v != .min: return .literal(.int64(-v))
            case .literal(.float64(let v)): return .literal(.float64(-v))
            case .timespan(let v) where v != .min: return .timespan(-v)
            default: return .arithmetic(.sqlSubtract, .literal(.int64(0)), value)
            }
        case .logical(let isAnd, let parts):
            var translated: [Expr] = []
            for part in parts { translated.append(try sub(part)) }
            return isAnd ? .and(translated) : .or(translated)
        case .binary(let op, let lhs, let rhs):
            let a = try sub(lhs), b = try sub(rhs)
            switch op {
            case "+": return .arithmetic(.sqlAdd, a, b)
            case "-": return .arithmetic(.sqlSubtract, a, b)
            case "*": return .arithmetic(.sqlMultiply, a, b)
            case "/": return .arithmetic(.sqlDivide, a, b)
            case "//": return .arithmetic(.sqlIntegerDivide, a, b)
            case "%": return .arithmetic(.sqlModulo, a, b)
            case "||": return .call(.concatStrict, [a, b])
            case "=", "==": return .compare(.equal, a, b)
            case "<>", "!=": return .compare(.notEqual, a, b)
            case "<": return .compare(.less, a, b)
            case "<=": return .compare(.lessOrEqual, a, b)
            case ">": return .compare(.greater, a, b)
            case ">=": return .compare(.greaterOrEqual, a, b)
            case "IS", "IS NOT":
                // `x IS TRUE` is true only for true: never null.
                let isValue = Expr.call(.coalesce, [.compare(.equal, a, b), .literal(.bool(false))])
                return op == "IS" ? isValue : .not(isValue)
            default: throw .internalError("operator \(op)")
            }
        case .isNull(let inner, let negated):
            return .call(negated ? .isNotNull : .isNull, [try sub(inner)])
        case .between(let value, let low, let high, let negated):
            return .between(try sub(value), low: try sub(low), high: try sub(high), negated: negated)
        case .inList(let value, let items, let negated):
            var arguments = [try sub(value)]
            for item in items { arguments.append(try sub(item)) }
            let test = Expr.call(.inSet, arguments)
            return negated ? .not(test) : test
        case .like(let value, let pattern, let escape, let caseInsensitive, let negated):
            let test = Expr.call(caseInsensitive ? .ilike : .like, [try sub(value), try sub(pattern), try escape.map(sub) ?? .literal(.null)])
            return negated ? .not(test) : test
        case .caseWhen(let operand, let branches, let otherwise):
            var result = try otherwise.map(sub) ?? .literal(.null)
            let subject = try operand.map(sub)
            for branch in branches.reversed() {
                let test = try sub(branch.condition)
                result = .call(.iff, [subject.map { .compare(.equal, $0, test) } ?? test, try sub(branch.result), result])
            }
            return result
        case .cast(let inner, let type, let isTry, let at):
            let value = try sub(inner)
            if type == "DATE" {
                return .call(.dateTrunc, [.literal(.string("day")), .cast(value, .timestamp, isTry ? .sqlTry : .sql)])
            }
            guard let target = SQLFunctions.castTarget(type) else {
                throw .semantic("unsupported type \(type) (have BOOLEAN, INTEGER, BIGINT, DOUBLE, DECIMAL, VARCHAR, TIMESTAMP, DATE)", at: at)
            }
            return .cast(value, target, isTry ? .sqlTry : .sql)
        case .function(let call):
            if SQLFunctions.isAggregate(call.name) {
                throw .semantic("aggregate function \(call.name)() is not allowed here", at: call.at)
            }
            return try SQLFunctions.scalar(call, translator: self, scope: scope, hook: hook)
        case .element(let list, let index):
            return .call(.listElement, [try sub(list), try sub(index)])
        case .extract(let part, let value):
            return .call(.datePart, [.literal(.string(part)), try sub(value)])
        }
    }
}
