// The libFuzzer targets (benches/KymaFuzzer, `harness/fuzz`): each takes any bytes and must give
// an answer or a typed error — never a crash, a hang or an out-of-bounds access (the fuzzer is
// built with AddressSanitizer). Kept in a library so the regression inputs found by fuzzing are
// replayed by a test on every run (Tests/FuzzRegressionTests).

import Dispatch
import Foundation
import KymaCore
import KymaExec
import KymaFormatTLM
import KymaIceberg
import KymaIngest
import KymaK2I
import KymaKQL
import KymaOptimizer
import KymaParquet
import KymaPlan
import KymaQueryService
import KymaSQL
import KymaTableSource
import Synchronization

public enum FuzzTargets {
    /// Every target by name.
    public static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "kql-parser": kqlParser,
        "sql-parser": sqlParser,
        "planner": planner,
        "tlm-footer": tlmFooter,
        "parquet-footer": parquetFooter,
        "avro": avro,
        "json-lines": jsonLines,
        "toml-config": tomlConfig,
    ]

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// Parsing, then everything that walks the plan (printing, encoding, preparing).
    static func exercise(_ statement: Statement) {
        _ = statement.plan.description
        _ = try? JSONEncoder().encode(statement)  // what a plan crossing to another node goes through
        _ = try? QueryOptimizer.prepare(statement.plan, timeColumn: "ts", nowNanos: 1_800_000_000_000_000_000)
    }

    @Sendable public static func kqlParser(_ bytes: [UInt8]) {
        if let statement = try? KQLFrontend().parseStatement(text(bytes)) { exercise(statement) }
        _ = try? KQLFrontend().parseExpression(text(bytes))
    }

    @Sendable public static func sqlParser(_ bytes: [UInt8]) {
        if let statement = try? SQLFrontend().parseStatement(text(bytes)) { exercise(statement) }
        _ = try? SQLFrontend().parseExpression(text(bytes))
    }

    /// The first byte picks the language; the query runs over a small table of every type
    /// within a tight budget, through the query service as any query does.
    @Sendable public static func planner(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let request = QueryRequest(text: text(Array(bytes.dropFirst())), language: first & 1 == 0 ? "kql" : "sql",
                                   budget: QueryBudget(maxBytesRead: 1 << 20, maxMemoryBytes: 16 << 20, timeoutSeconds: 2, parallelism: 2),
                                   nowNanos: 1_800_000_000_000_000_000)
        let done = DispatchSemaphore(value: 0)
        Task {
            _ = try? await service.execute(request)
            done.signal()
        }
        done.wait()
    }

    static let service: QueryService = {
        let source = try! InMemoryTableSource(table: "t", timeColumn: "ts", parts: sampleParts())  // fixed data: cannot fail
        return QueryService(frontends: FrontendRegistry([KQLFrontend(), SQLFrontend()]), sources: FixedTableSources([source]))
    }()

    static func sampleParts() -> [[ColumnBatch]] {
        var parts: [[ColumnBatch]] = []
        for part in 0..<3 {
            var a = ColumnBuilder(.int64), x = ColumnBuilder(.float64), s = ColumnBuilder(.string), b = ColumnBuilder(.bool), ts = ColumnBuilder(.timestamp)
            for i in 0..<7 {
                let k = part * 7 + i
                try? a.append(k % 5 == 0 ? .null : .int64(Int64(k * 37 % 23) - 11))
                try? x.append(k % 4 == 0 ? .null : .float64(Double(k) / 3 - 2))
                try? s.append(k % 6 == 0 ? .null : .string(["", "alpha", "Beta", "é", "a b", "50%"][k % 6]))
                try? b.append(k % 3 == 0 ? .null : .bool(k % 2 == 0))
                try? ts.append(.timestamp(1_700_000_000_000_000_000 + Int64(k) * 3_600_000_000_000))
            }
            if let batch = try? ColumnBatch(rowCount: 7, columns: [("a", a.finish()), ("x", x.finish()), ("s", s.finish()), ("b", b.finish()), ("ts", ts.finish())]) {
                parts.append([batch])
            }
        }
        return parts
    }

    @Sendable public static func tlmFooter(_ bytes: [UInt8]) {
        // Skip the CRC so mutated footers reach the parser (the CRC would reject nearly all).
        _ = try? TLMFormat.inspect(extent: bytes, key: "fuzz", verifyChecksum: false)
    }

    /// A whole Parquet file: its footer (Thrift), then every row group it claims.
    @Sendable public static func parquetFooter(_ bytes: [UInt8]) {
        guard let file = try? ParquetFile(bytes: bytes) else { return }
        for index in 0..<min(file.rowGroups.count, 16) { _ = try? file.read(rowGroup: index) }
    }

    @Sendable public static func avro(_ bytes: [UInt8]) {
        _ = try? AvroDecoder.container(bytes)
    }

    @Sendable public static func jsonLines(_ bytes: [UInt8]) {
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: true).prefix(64) {
            _ = try? JSONLineParser.flatten(line)
            _ = try? JSONLineParser.flatten(line, rawNumberPath: "ts")
        }
    }

    @Sendable public static func tomlConfig(_ bytes: [UInt8]) {
        _ = try? K2IConfig.parse(text(bytes), environment: [:])
    }
}
