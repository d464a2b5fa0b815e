// Constant folding and boolean simplification: every sub-expression whose inputs are constants
// is evaluated once per query by the expressions' own meaning (KymaPlan's `ExprSemantics`), so
// `now()` and `ago(1h)` become datetime literals the pruning cascade can use.

import KymaCore
import KymaPlan

public enum ConstantFolding {
    public static func fold(_ expr: Expr, now: Int64) -> Expr {
        expr.mapped { node in
            switch node {
            case .literal, .timespan, .column: return node
            case .and(let parts): return simplify(parts, isAnd: true)
            case .or(let parts): return simplify(parts, isAnd: false)
            case .call(.iff, let arguments) where arguments.count == 3:
                if case .literal(let condition) = arguments[0] { return condition == .bool(true) ? arguments[1] : arguments[2] }
            default: break
            }
            guard node.children.allSatisfy(isConstant) else { return node }
            // An expression that fails on its constants (a cast of 'x' to an integer) is left
            // for the executor: it fails only if a row reaches it.
            guard let folded = try? ExprSemantics.evaluate(node, now: now, column: { _ in nil }) else { return node }
            return folded.isTimespan ? (folded.value.int64 .map { .timespan($0) } ?? .literal(folded.value)) : .literal(folded.value)
        }
    }

    static func isConstant(_ expr: Expr) -> Bool {
        switch expr {
        case .literal, .timespan: true
        default: false
        }
    }

    /// `and`/`or` flattened, with the identity dropped and the absorbing element short-circuiting.
    static func simplify(_ parts: [Expr], isAnd: Bool) -> Expr {
        var kept: [Expr] = []
        var sawNull = false
        for part in parts {
            let flattened: [Expr]
            switch (part, isAnd) {
            case (.and(let inner), true), (.or(let inner), false): flattened = inner
            default: flattened = [part]
            }
            for item in flattened {
                switch item {
                case .literal(.bool(let b)):
                    if b != isAnd { return .literal(.bool(b)) }  // false in an and, true in an or
                case .literal(.null):
                    sawNull = true
                default:
                    if !kept.contains(item) { kept.append(item) }
                }
            }
        }
        if kept.isEmpty { return sawNull ? .literal(.null) : .literal(.bool(isAnd)) }
        if sawNull { kept.append(.literal(.null)) }
        return kept.count == 1 ? kept[0] : (isAnd ? .and(kept) : .or(kept))
    }
}

extension ScalarValue {
    var int64: Int64? {
        if case .int64(let v) = self { return v }
        return nil
    }
}
