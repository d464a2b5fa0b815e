// Filters move toward the scan so the pruning cascade sees them: adjacent filters merge, and a
// filter moves before an operator that does not change the rows it tests (extend of other
// columns, renames in project or distinct, sort, group keys), rewritten in that operator's
// input columns. A filter never moves past take, top, skip or count (they change which rows
// exist).

import KymaPlan

enum FilterPushdown {
    static func apply(_ operators: [PlanOperator]) -> [PlanOperator] {
        var ops = operators
        var changed = true
        var rounds = 0
        while changed, rounds < 64 {
            changed = false
            rounds += 1
            var index = 1
            while index < ops.count {
                guard case .filter(let predicate) = ops[index] else { index += 1; continue }
                if case .filter(let earlier) = ops[index - 1] {
                    ops[index - 1] = .filter(Expr.conjunction(earlier.conjuncts + predicate.conjuncts))
                    ops.remove(at: index)
                    changed = true
                    continue
                }
                if let moved = pushed(predicate, below: ops[index - 1]) {
                    ops[index] = ops[index - 1]
                    ops[index - 1] = .filter(moved)
                    changed = true
                }
                index += 1
            }
        }
        return ops
    }

    /// `predicate` rewritten to run before `op`, or nil when it cannot move.
    static func pushed(_ predicate: Expr, below op: PlanOperator) -> Expr? {
        let used = predicate.columns
        switch op {
        case .sort: return predicate
        case .extend(let items):
            return used.isDisjoint(with: items.map(\.name)) ? predicate : nil
        case .projectAway(let names):
            return used.isDisjoint(with: names) ? predicate : nil
        case .project(let items), .distinct(let items):
            // Only through renames: substituting a computed expression would compute it twice.
            var mapping: [String: Expr] = [:]
            for name in used {
                guard let item = items.last(where: { $0.name == name }), case .column = item.expr else { return nil }
                mapping[name] = item.expr
            }
            return substitute(predicate, mapping)
        case .aggregate(let keys, _):
            // A filter on group keys only keeps or drops whole groups: run it on the rows.
            guard !keys.isEmpty else { return nil }
            var mapping: [String: Expr] = [:]
            for name in used {
                guard let key = keys.last(where: { $0.name == name }) else { return nil }
                mapping[name] = key.expr
            }
            return substitute(predicate, mapping)
        case .filter, .top, .limit, .offset, .count:
            return nil
        }
    }

    static func substitute(_ expr: Expr, _ mapping: [String: Expr]) -> Expr {
        expr.mapped { node in
            if case .column(let name) = node, let replacement = mapping[name] { return replacement }
            return node
        }
    }
}
