import KymaCore
import KymaKQL
import KymaPlan
import Testing

@Suite struct KQLParserTests {
    let kql = KQLFrontend()

    @Test func pipelineOfEveryOperator() throws {
        let plan = try kql.parse("""
            logs
            | where level == "error" and status >= 500   // a comment
            | extend ms = latency * 1000
            | project-away raw
            | summarize n = count(), p = percentiles(ms, 50, 99) by service, bin(ts, 5m)
            | top 3 by n desc
            | order by service asc nulls last
            | take 10
            | count
            """)
        #expect(plan.table == "logs")
        #expect(plan.operators.count == 8)
        guard case .aggregate(let keys, let aggregates) = plan.operators[3] else {
            Issue.record("expected summarize, got \(plan.operators[3])")
            return
        }
        #expect(keys.map(\.name) == ["service", "ts"])
        #expect(aggregates.flatMap(\.outputNames) == ["n", "percentile_ms_50", "percentile_ms_99"])
        #expect(plan.operators[4] == .top(count: 3, by: [SortKey(.column("n"), descending: true)]))
        #expect(plan.operators[5] == .sort([SortKey(.column("service"), descending: false, nullsFirst: false)]))
        #expect(plan.operators[6] == .limit(10))
        #expect(plan.operators[7] == .count)
    }

    @Test func precedenceAndOperators() throws {
        let plan = try kql.parse("T | where a + 2 * 3 > 7 or b !has 'x' and c in (1, 2) and d between (1 .. 5)")
        let expected = Expr.or([
            .compare(.greater, .arithmetic(.add, .column("a"), .arithmetic(.multiply, .literal(.int64(2)), .literal(.int64(3)))), .literal(.int64(7))),
            .and([.text(.has, .column("b"), .literal(.string("x")), negated: true),
                  .inList(.column("c"), [.literal(.int64(1)), .literal(.int64(2))], negated: false),
                  .between(.column("d"), low: .literal(.int64(1)), high: .literal(.int64(5)), negated: false)]),
        ])
        #expect(plan.operators == [.filter(expected)])
    }

    @Test func timeLiterals() throws {
        let plan = try kql.parse("T | where ts > ago(1h) and ts < datetime(2024-01-31 12:30:15.5) and d == 1.5d")
        guard case .filter(.and(let parts)) = plan.operators[0] else { Issue.record("not a filter"); return }
        #expect(parts[0] == .compare(.greater, .column("ts"), .arithmetic(.subtract, .call(.now, []), .timespan(3_600_000_000_000))))
        // 2024-01-31T12:30:15.5Z, checked by hand: 19753 days since the epoch.
        #expect(parts[1] == .compare(.less, .column("ts"), .literal(.timestamp((19_753 * 86_400 + 12 * 3600 + 30 * 60 + 15) * 1_000_000_000 + 500_000_000))))
        #expect(parts[2] == .compare(.equal, .column("d"), .timespan(129_600_000_000_000)))
    }

    @Test func kustoDefaultNames() throws {
        let plan = try kql.parse("T | summarize count(), sum(x), dcount(u), make_set(s), arg_max(t, msg), countif(ok) by bin(ts, 1h)")
        guard case .aggregate(let keys, let aggregates) = plan.operators[0] else { Issue.record("not summarize"); return }
        #expect(keys.map(\.name) == ["ts"])
        #expect(aggregates.flatMap(\.outputNames) == ["count_", "sum_x", "dcount_u", "set_s", "t", "msg", "countif_"])
        #expect(aggregates[2].function == .dcount(precision: 14))
    }

    @Test func syntaxErrorsNameLineColumnAndExpectation() {
        func error(_ text: String) -> QueryError? {
            do {
                _ = try kql.parse(text)
                return nil
            } catch {
                return error
            }
        }
        #expect(error("T | where") == .syntax(line: 1, column: 10, found: "end of query", expected: "a value: a column, number, string, timespan or function call"))
        #expect(error("T\n| frobnicate x") == .syntax(line: 2, column: 3, found: "'frobnicate'", expected: "an operator (where, project, project-away, extend, summarize, top, order by, sort by, take, limit, count, distinct)"))
        #expect(error("T | where a == 'open") == .syntax(line: 1, column: 16, found: "an unterminated string", expected: "a closing '"))
        #expect(error("T | take x") == .syntax(line: 1, column: 10, found: "'x'", expected: "a row count"))
        #expect(error("T | where ts > datetime(2024-13-01)") != nil)
        if case .semantic(let message, let position)? = error("T | summarize frob(x)") {
            #expect(message.contains("unknown aggregate function 'frob'"))
            #expect(position == SourcePosition(line: 1, column: 15))
        } else {
            Issue.record("expected a semantic error for an unknown aggregate")
        }
        #expect(error("T | where a == 1 b") == .syntax(line: 1, column: 18, found: "'b'", expected: "'|' or the end of the query"))
    }

    @Test func everyFunctionParses() throws {
        for function in ["isnull(a)", "isnotnull(a)", "isempty(a)", "isnotempty(a)", "bin(a, 10)", "tostring(a)", "toint(a)", "tolong(a)",
                         "todouble(a)", "toreal(a)", "strlen(a)", "tolower(a)", "toupper(a)", "iff(a > 1, 'x', 'y')", "now()", "ago(7d)",
                         "not(a == 1)", "floor(a, 5)", "timespan(5m)"] {
            _ = try kql.parse("T | extend v = \(function)")
        }
    }
}
