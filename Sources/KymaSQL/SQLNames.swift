// Column names of unaliased select items, as DuckDB prints them (`count_star()`, `sum(x)`,
// `(a + b)`, `lower(s)`), and the children of syntax nodes for the walks translation makes.

import KymaCore
import KymaPlan

enum SQLNames {
    static func children(_ e: SQLExpr) -> [SQLExpr] {
        switch e {
        case .column, .literal, .interval, .star: []
        case .unary(_, let x), .isNull(let x, _), .cast(let x, _, _, _), .extract(_, let x): [x]
        case .logical(_, let parts): parts
        case .binary(_, let a, let b), .element(let a, let b): [a, b]
        case .between(let x, let lo, let hi, _): [x, lo, hi]
        case .inList(let x, let items, _): [x] + items
        case .like(let x, let p, let escape, _, _): [x, p] + (escape.map { [$0] } ?? [])
        case .caseWhen(let operand, let branches, let otherwise):
            (operand.map { [$0] } ?? []) + branches.flatMap { [$0.condition, $0.result] } + (otherwise.map { [$0] } ?? [])
        case .function(let call):
            call.arguments + (call.filter.map { [$0] } ?? []) + (call.withinGroup.map { [$0.expr] } ?? [])
        }
    }

    static func display(_ e: SQLExpr) -> String {
        switch e {
        case .column(_, let name, _): return name
        case .literal(let value):
            switch value {
            case .null: return "NULL"
            case .string(let s): return "'\(s)'"
            case .bool(let b): return b ? "true" : "false"
            case .timestamp(let t): return "CAST('\(TimestampText.sql(t))' AS TIMESTAMP)"
            default: return ScalarCasts.sqlString(value)
            }
        case .interval(let interval):
            return interval.months != 0 ? "INTERVAL \(interval.months) MONTH" : "INTERVAL \(interval.nanos / 1_000) MICROSECOND"
        case .star: return "*"
        case .unary(let op, let x): return op == "NOT" ? "(NOT \(display(x)))" : "(-(\(display(x))))"
        case .logical(let isAnd, let parts): return "(" + parts.map(display).joined(separator: isAnd ? " AND " : " OR ") + ")"
        case .binary(let op, let a, let b): return "(\(display(a)) \(op == "==" ? "=" : op) \(display(b)))"
        case .isNull(let x, let negated): return "(\(display(x)) IS \(negated ? "NOT " : "")NULL)"
        case .between(let x, let lo, let hi, let negated): return "(\(display(x)) \(negated ? "NOT " : "")BETWEEN \(display(lo)) AND \(display(hi)))"
        case .inList(let x, let items, let negated): return "(\(display(x)) \(negated ? "NOT " : "")IN (\(items.map(display).joined(separator: ", "))))"
        case .like(let x, let p, _, let ci, let negated): return "(\(display(x)) \(negated ? "!" : "")\(ci ? "~~*" : "~~") \(display(p)))"
        case .caseWhen(_, let branches, let otherwise):
            return "CASE " + branches.map { " WHEN (\(display($0.condition))) THEN (\(display($0.result)))" }.joined() + " ELSE \(otherwise.map(display) ?? "NULL") END"
        case .cast(let x, let type, let isTry, _): return "\(isTry ? "TRY_CAST" : "CAST")(\(display(x)) AS \(type))"
        case .function(let call):
            if call.name == "count", call.arguments == [.star] { return "count_star()" + (call.filter.map { " FILTER (WHERE \(display($0)))" } ?? "") }
            var text = "\(call.name)(\(call.distinct ? "DISTINCT " : "")\(call.arguments.map(display).joined(separator: ", ")))"
            if let order = call.withinGroup { text += " WITHIN GROUP (ORDER BY \(display(order.expr))\(order.descending ? " DESC" : ""))" }
            if let filter = call.filter { text += " FILTER (WHERE \(display(filter)))" }
            return text
        case .element(let list, let index): return "\(display(list))[\(display(index))]"
        case .extract(let part, let x): return "date_part('\(part)', \(display(x)))"
        }
    }
}
