// Evaluates the constant parts of expressions once per query: `now()` becomes the query's start
// time and `ago(1h)` a datetime literal, so the planner can push time bounds down.

import KymaCore
import KymaPlan

public enum ConstantFolding {
    public static func fold(_ expr: Expr, now: Int64) -> Expr {
        expr.rewritten { node in
            switch node {
            case .call(.now, _):
                return .literal(.timestamp(now))
            case .arithmetic(let op, let a, let b):
                guard let x = constant(a), let y = constant(b),
                      let value = try? ScalarArithmetic.apply(op, x.value, y.value) else { return node }
                // datetime +/- timespan is a datetime; timespan arithmetic stays a timespan.
                if x.isTimespan && y.isTimespan, case .int64(let v) = value { return .timespan(v) }
                if case .int64(let v) = value, x.isTimespan != y.isTimespan, op == .multiply || op == .divide { return .timespan(v) }
                return .literal(value)
            case .negate(.timespan(let v)):
                return .timespan(0 &- v)
            default:
                return node
            }
        }
    }

    static func constant(_ expr: Expr) -> (value: ScalarValue, isTimespan: Bool)? {
        switch expr {
        case .literal(let value): (value, false)
        case .timespan(let v): (.int64(v), true)
        default: nil
        }
    }
}
