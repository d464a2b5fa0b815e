// The `QueryFrontend` contract, run against every frontend (KQL and SQL): any text gives a
// statement or a typed error (never a crash), nesting is bounded, parsing is deterministic,
// plans survive Codable, claims pick the right language; and pairs of KQL and SQL queries that
// mean the same thing give the same plan after `prepare()`.

import Foundation
import KymaCore
import KymaKQL
import KymaOptimizer
import KymaPlan
import KymaSQL
import KymaTestSupport
import Testing

struct FrontendCase: Sendable, CustomStringConvertible {
    let frontend: any QueryFrontend
    /// A query over table `t` with a filter, an aggregation and an order.
    let example: String
    /// A predicate on columns `a` and `s`.
    let predicate: String
    /// Wraps an expression into a query.
    let query: @Sendable (String) -> String
    var description: String { frontend.name }
}

let frontendCases: [FrontendCase] = [
    FrontendCase(frontend: KQLFrontend(), example: "t | where a > 1 | summarize n = count() by s | order by n desc",
                 predicate: "a > 1 and s == \"x\"", query: { "t | where \($0)" }),
    FrontendCase(frontend: SQLFrontend(), example: "SELECT s, count(*) AS n FROM t WHERE a > 1 GROUP BY s ORDER BY n DESC",
                 predicate: "a > 1 AND s = 'x'", query: { "SELECT * FROM t WHERE \($0)" }),
]

@Suite("QueryFrontend contract")
struct QueryFrontendContractTests {
    @Test(arguments: frontendCases) func exampleParsesAndRoundTripsThroughCodable(_ c: FrontendCase) throws {
        let statement = try c.frontend.parseStatement(c.example)
        let plan = statement.plan
        #expect(plan.table == "t")
        #expect(try c.frontend.parseStatement(c.example) == statement, "parsing is deterministic")
        let decoded = try JSONDecoder().decode(Statement.self, from: JSONEncoder().encode(statement))
        #expect(decoded == statement)
        #expect(c.frontend.claims(c.example))
        #expect(frontendCases.filter { $0.frontend.name != c.frontend.name }.allSatisfy { !$0.frontend.claims(c.example) },
                "only its own frontend claims the example")
    }

    @Test(arguments: frontendCases) func expressionsParseAlone(_ c: FrontendCase) throws {
        let expr = try c.frontend.parseExpression(c.predicate)
        #expect(expr.columns == ["a", "s"])
        #expect(throws: QueryError.self) { try c.frontend.parseExpression(c.predicate + " )") }
    }

    @Test(arguments: frontendCases) func syntaxErrorsHaveAPosition(_ c: FrontendCase) {
        for text in ["", "   ", c.example + " )", c.query("a >"), c.query("(((a"), "\u{0}", "🙂"] {
            do {
                _ = try c.frontend.parseStatement(text)
                Issue.record("'\(text)' parsed")
            } catch {
                #expect(error.kind == .badQuery, "\(text): \(error)")
                #expect(error.position != nil, "\(text): \(error) has no position")
            }
        }
    }

    @Test(arguments: frontendCases) func nestingIsBoundedNotRecursedInto(_ c: FrontendCase) {
        let limit = QueryLimits.maxExpressionDepth
        // Within the limit: fine.
        let shallow = String(repeating: "(", count: limit / 4) + "a" + String(repeating: ")", count: limit / 4) + " > 1"
        #expect(throws: Never.self) { try c.frontend.parseStatement(c.query(shallow)) }
        // Far past it: a typed error naming the limit, never a stack overflow.
        for deep in [String(repeating: "(", count: 10_000) + "a" + String(repeating: ")", count: 10_000) + " > 1",
                     String(repeating: "not(", count: 5_000) + "a > 1" + String(repeating: ")", count: 5_000),
                     (0..<20_000).map { "a\($0 % 7)" }.joined(separator: " + ") + " > 1",
                     String(repeating: "-", count: 10_000) + "a > 1"] {
            do {
                _ = try c.frontend.parseStatement(c.query(deep))
                Issue.record("\(deep.prefix(20))... parsed")
            } catch {
                #expect(error.kind == .badQuery, "\(error)")
            }
        }
        // Long flat conjunctions are one level: 1,600 terms parse.
        let wide = (0..<1_600).map { c.frontend.name == "sql" ? "a = \($0)" : "a == \($0)" }.joined(separator: " and ")
        #expect(throws: Never.self) { try c.frontend.parseStatement(c.query(wide)) }
    }

    @Test(arguments: frontendCases) func literalsThatDoNotFitAreErrors(_ c: FrontendCase) {
        for literal in ["99999999999999999999", "1" + String(repeating: "0", count: 400)] {
            #expect(throws: QueryError.self) { try c.frontend.parseStatement(c.query("a > \(literal)")) }
        }
    }

    /// Random token soup from each language's vocabulary: every input gives a statement or a
    /// typed error (the libFuzzer targets in benches/ go further; this runs in every test run).
    @Test(arguments: frontendCases) func randomTextNeverCrashes(_ c: FrontendCase) {
        let vocabulary = ["t", "a", "s", "|", "where", "summarize", "by", "count()", "(", ")", ",", "==", "=", ">", "-", "+", "*", "/", "%", "and",
                          "or", "not", "in", "between", "..", "'x'", "\"y\"", "1", "2.5", "5m", "datetime(2024-01-01)", "SELECT", "FROM", "WHERE",
                          "GROUP", "ORDER", "LIMIT", "OFFSET", "AS", "CASE", "WHEN", "THEN", "END", "CAST", "INTERVAL", "TIMESTAMP", "::",
                          "[", "]", "*", "DISTINCT", "FILTER", "WITHIN", "top", "take", "extend", "project", "sum(a)", "NULL", "IS",
                          "LIKE", "ESCAPE", "EXPLAIN", "WITH", "9223372036854775807", "-9223372036854775808", "1e308", "bin(a, 0)"]
        var g = SplitMix64(seed: c.frontend.name == "sql" ? 1 : 2)
        var statements = 0
        for _ in 0..<3_000 {
            let count = Int(g.next() % 16) + 1
            let text = (0..<count).map { _ in vocabulary[Int(g.next() % UInt64(vocabulary.count))] }.joined(separator: " ")
            do {
                _ = try c.frontend.parseStatement(text)
                statements += 1
            } catch {
                #expect(error.kind == .badQuery, "\(text): \(error)")
            }
        }
        #expect(statements < 3_000)
    }
}

/// KQL and SQL queries that mean the same thing: equal plans after `prepare()`.
@Suite("KQL and SQL give one plan")
struct SameLogicalPlanTests {
    static let pairs: [(kql: String, sql: String)] = [
        ("svc | where status >= 500 | summarize count_ = count() by service",
         "SELECT service, count(*) AS count_ FROM svc WHERE status >= 500 GROUP BY service"),
        ("svc | top 10 by latency_ms desc | project trace_id, latency_ms",
         "SELECT trace_id, latency_ms FROM svc ORDER BY latency_ms DESC LIMIT 10"),
        ("svc | summarize n = count() by service | top 3 by n desc",
         "SELECT service, count(*) AS n FROM svc GROUP BY service ORDER BY n DESC LIMIT 3"),
        ("svc | where level == \"ERROR\" and latency_ms > 100.5 | project trace_id",
         "SELECT trace_id FROM svc WHERE level = 'ERROR' AND latency_ms > 100.5"),
        ("svc | where ts >= datetime(2024-01-01) and ts < datetime(2024-02-01) | summarize s = sum(bytes), a = avg(latency_ms)",
         "SELECT sum(bytes) AS s, avg(latency_ms) AS a FROM svc WHERE ts >= TIMESTAMP '2024-01-01' AND ts < TIMESTAMP '2024-02-01'"),
        ("svc | where msg has \"timeout\" | summarize hi = max(latency_ms) by region",
         "SELECT region, max(latency_ms) AS hi FROM svc WHERE has(msg, 'timeout') GROUP BY region"),
        ("svc | where isnotnull(user_id) | summarize n = count() by service | where n > 300",
         "SELECT service, count(*) AS n FROM svc WHERE user_id IS NOT NULL GROUP BY service HAVING count(*) > 300"),
        ("svc | where status between (200 .. 299) | take 5",
         "SELECT * FROM svc WHERE status BETWEEN 200 AND 299 LIMIT 5"),
        ("svc | where latency_ms > 1 | summarize lo = min(latency_ms), hi = max(latency_ms) by service, region",
         "SELECT service, region, min(latency_ms) AS lo, max(latency_ms) AS hi FROM svc WHERE latency_ms > 1 GROUP BY service, region"),
        ("svc | where ts > ago(1h) | count",
         "SELECT count(*) AS Count FROM svc WHERE ts > now() - INTERVAL 1 hour"),
    ]

    @Test func pairsGiveOnePlan() throws {
        let now: Int64 = 1_800_000_000_000_000_000
        for (kql, sql) in Self.pairs {
            let fromKQL = try QueryOptimizer.prepare(try KQLFrontend().parse(kql), timeColumn: "ts", nowNanos: now)
            let fromSQL = try QueryOptimizer.prepare(try SQLFrontend().parse(sql), timeColumn: "ts", nowNanos: now)
            #expect(fromKQL.scan == fromSQL.scan, "scan differs:\n\(kql)\n\(sql)")
            #expect(fromKQL.pipeline.map(Self.canonical) == fromSQL.pipeline.map(Self.canonical),
                    "pipelines differ:\nKQL \(fromKQL.logical)\nSQL \(fromSQL.logical)")
        }
    }

    /// `count` and `summarize count()` are one thing; so are the two spellings of "rows".
    static func canonical(_ op: PlanOperator) -> PlanOperator {
        if case .count = op { return .aggregate(keys: [], aggregates: [Aggregate(.count, [], outputNames: ["Count"])]) }
        return op
    }
}
