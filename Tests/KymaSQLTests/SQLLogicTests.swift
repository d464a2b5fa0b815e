// Runs every SQL logic test file (slt/*.slt) through the query service, over tables held in
// memory. Each record's answer must equal the file's, which harness/slt-check holds to DuckDB's.

import Foundation
import KymaCore
import KymaKQL
import KymaPlan
import KymaQueryService
import KymaSQL
import KymaTableSource
import Testing

@Suite struct SQLLogicTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("slt").path

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".slt") }.sorted()
    }

    @Test func thereAreFiles() {
        #expect(Self.files.count >= 8, "slt files in \(Self.directory)")
    }

    @Test(arguments: files) func file(_ name: String) async throws {
        let path = Self.directory + "/" + name
        let file = try SQLLogicFile.parse(path)
        let service = QueryService(frontends: FrontendRegistry([SQLFrontend(), KQLFrontend()]), sources: FixedTableSources(file.tables))
        var ran = 0
        for record in file.records {
            switch record {
            case .error(let substring, let text, let line):
                do {
                    _ = try await service.execute(QueryRequest(text: text, language: "sql", nowNanos: 0))
                    Issue.record("\(name):\(line): expected an error, the statement ran: \(text)")
                } catch {
                    #expect(substring.isEmpty || error.description.contains(substring), "\(name):\(line): \(error) lacks '\(substring)'")
                    #expect(error.kind != .internalError, "\(name):\(line): \(error)")
                }
            case .query(let types, let sort, let text, let expected, let line):
                let outcome: QueryOutcome
                do { outcome = try await service.execute(QueryRequest(text: text, language: "sql", nowNanos: 0)) } catch {
                    Issue.record("\(name):\(line): \(error)\n\(text)")
                    continue
                }
                guard case .rows(let result, _) = outcome else { Issue.record("\(name):\(line): not rows"); continue }
                #expect(result.names.count == types.count, "\(name):\(line): \(result.names.count) columns, the record says \(types.count)")
                var rows = result.rows.map { row in
                    zip(row, types).map { SQLLogicFile.text($0, $1) }.joined(separator: "\t")
                }
                var wanted = expected
                switch sort {
                case "rowsort":
                    rows.sort()
                    wanted.sort()
                case "valuesort":
                    rows = rows.flatMap { $0.split(separator: "\t").map(String.init) }.sorted()
                    wanted = wanted.flatMap { $0.split(separator: "\t").map(String.init) }.sorted()
                default: break
                }
                #expect(rows == wanted, "\(name):\(line):\n\(text)\n got:\n\(rows.joined(separator: "\n"))\n want:\n\(wanted.joined(separator: "\n"))")
            }
            ran += 1
        }
        #expect(ran == file.records.count && ran > 0)
    }
}
