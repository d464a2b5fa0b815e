// CSV records against hand-written answers (RFC 4180: quotes, doubled quotes, delimiters and
// line breaks inside quotes, CRLF), typed cells, the errors a malformed file gets, and JSON
// lines into a given schema.

@testable import KymaBuckets
import KymaCore
import Testing

@Suite("Tabular rows")
struct TabularRowsTests {
    @Test func csvRecordsFollowRFC4180() throws {
        let text = "id,name,note\r\n1,\"Smith, J\",\"said \"\"hi\"\"\"\r\n2,plain,\"two\nlines\"\n3,,\n"
        let records = try TabularRows.csvRecords(Array(text.utf8), delimiter: UInt8(ascii: ","), source: "t.csv")
        #expect(records == [["id", "name", "note"], ["1", "Smith, J", "said \"hi\""], ["2", "plain", "two\nlines"], ["3", "", ""]])
        let semicolons = try TabularRows.csvRecords(Array("a;b\n1;2".utf8), delimiter: UInt8(ascii: ";"), source: "t.csv")
        #expect(semicolons == [["a", "b"], ["1", "2"]], "a last record without a newline")
    }

    @Test func cellsAreTypedAndColumnsInferred() throws {
        let rows = try TabularRows.csv(Array("id,score,ok,name,when\n1,2.5,true,x,2026-12-07T10:00:00Z\n2,3,false,,2026-12-07T11:00:00Z\n".utf8),
                                       timeField: "when", source: "t.csv")
        let (fields, batch) = try TabularRows.batch(rows, source: "t.csv")
        #expect(fields.map(\.name) == ["id", "score", "ok", "name", "when"])
        #expect(fields.map(\.type) == [.int64, .float64, .bool, .string, .timestamp])
        #expect(batch.column(named: "score")?.value(at: 1) == .float64(3), "an integer in a float column")
        #expect(batch.column(named: "name")?.value(at: 1) == .null, "an empty cell is null")
        #expect(batch.column(named: "when")?.value(at: 0) == .timestamp(1_796_637_600_000_000_000))
        // A text column keeps its cells' text even where a cell reads as a number (an airport code 0E0).
        let codes = try TabularRows.batch(try TabularRows.csv(Array("code\n0E0\nABC\n007\n".utf8), timeField: nil, source: "c.csv"), source: "c.csv").batch
        #expect((0..<3).map { codes.column(named: "code")?.value(at: $0) } == [.string("0E0"), .string("ABC"), .string("007")])
    }

    @Test(arguments: [
        ("a,b\n1,2,3\n", "record 2 has 3 fields"),
        ("a,a\n1,2\n", "unique"),
        ("a,b\n\"open,2\n", "not closed"),
        ("a,b\nx\"y,2\n", "quote inside"),
        ("a,b\n\"x\"y,2\n", "after a closing quote"),
    ])
    func malformedCSVIsRefusedByPlace(text: String, mentions: String) {
        do {
            _ = try TabularRows.csv(Array(text.utf8), timeField: nil, source: "bad.csv")
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.kind == .badObject && error.message.contains(mentions) && error.message.contains("bad.csv"), "\(error.message)")
        }
    }

    @Test func rowsGoIntoAGivenSchemaOrFailNamingTheColumn() throws {
        let rows = try TabularRows.jsonLines(Array("{\"id\":1,\"tags\":\"a\"}\n\n{\"id\":2,\"extra\":true}\n".utf8), timeField: nil, source: "r.json")
        #expect(rows.order == ["id", "tags", "extra"] && rows.rows.count == 2)
        let (_, batch) = try TabularRows.batch(rows, into: [(name: "id", type: .int64), (name: "tags", type: .string), (name: "gone", type: .float64)], source: "r.json")
        #expect(batch.names == ["id", "tags", "gone"] && batch.column(named: "gone")?.value(at: 0) == .null)
        #expect(throws: BucketsError.self) { _ = try TabularRows.batch(rows, into: [(name: "id", type: .bool)], source: "r.json") }
    }
}
