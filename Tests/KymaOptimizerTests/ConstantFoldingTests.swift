// Constant folding: `now()` and `ago()` become datetime literals the pruning cascade can use,
// constant sub-expressions are evaluated once, and boolean identities simplify.

import KymaCore
import KymaOptimizer
import KymaPlan
import Testing

@Suite struct ConstantFoldingTests {
    @Test func timeFoldsToALiteral() {
        let folded = ConstantFolding.fold(.compare(.greater, .column("ts"), .arithmetic(.subtract, .call(.now, []), .timespan(3_600_000_000_000))), now: 10_000_000_000_000)
        #expect(folded == .compare(.greater, .column("ts"), .literal(.timestamp(10_000_000_000_000 - 3_600_000_000_000))))
    }

    @Test func timespansStayTimespans() {
        #expect(ConstantFolding.fold(.arithmetic(.add, .timespan(60), .timespan(30)), now: 0) == .timespan(90))
        #expect(ConstantFolding.fold(.arithmetic(.multiply, .timespan(60), .literal(.int64(2))), now: 0) == .timespan(120))
    }

    @Test func booleanIdentities() {
        let x = Expr.compare(.equal, .column("a"), .literal(.int64(1)))
        #expect(ConstantFolding.fold(.and([.literal(.bool(true)), x]), now: 0) == x)
        #expect(ConstantFolding.fold(.and([.literal(.bool(false)), x]), now: 0) == .literal(.bool(false)))
        #expect(ConstantFolding.fold(.or([.literal(.bool(true)), x]), now: 0) == .literal(.bool(true)))
        #expect(ConstantFolding.fold(.or([.compare(.equal, .literal(.int64(1)), .literal(.int64(2))), x]), now: 0) == x)
        // A null conjunct cannot be dropped: `null and x` is null or false, never true.
        #expect(ConstantFolding.fold(.and([.literal(.null), x]), now: 0) == .and([x, .literal(.null)]))
    }

    @Test func failingConstantsAreLeftForTheExecutor() {
        // A cast that fails on its constant is an error only if a row reaches it.
        let cast = Expr.cast(.literal(.string("x")), .int64, .sql)
        #expect(ConstantFolding.fold(cast, now: 0) == cast)
        #expect(ConstantFolding.fold(.cast(.literal(.string("12")), .int64, .sql), now: 0) == .literal(.int64(12)))
    }
}
