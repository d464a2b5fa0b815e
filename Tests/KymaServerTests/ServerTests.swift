// The HTTP server against the engine it wraps: every answer over HTTP is checked against the
// query service in process (the path `kyma query` takes) or against hand-counted rows.

import Foundation
import KymaCatalog
import KymaCompression
import KymaCore
import KymaObjectStore
import KymaQueryService
import KymaServer
import KymaTestSupport
import Synchronization
import Testing

/// 60 rows over three services and two levels, one minute apart.
let serviceRows: [String] = (0..<60).map { i in
    let service = ["api", "db", "web"][i % 3]
    let level = i % 4 == 0 ? "error" : "info"
    let minute = i < 10 ? "0\(i)" : "\(i)"
    return #"{"ts":"2026-12-01T10:\#(minute):00Z","service":"\#(service)","level":"\#(level)","latency_ms":\#(i * 7 % 50),"msg":"request \#(i) \#(level == "error" ? "failed timeout" : "ok")"}"#
}

@Suite("HTTP server: queries")
struct ServerQueryTests {
    @Test func answersOverHTTPEqualTheQueryServiceInProcess() async throws {
        let f = try await ServerFixture.make("kyma_serve_q")
        defer { Task { await f.stop() } }
        _ = try await f.ingest("svc", serviceRows, query: "?time_field=ts")
        let service = f.services.queryService()
        let queries: [(String, String)] = [
            ("kql", "svc | summarize n = count(), worst = max(latency_ms) by service, level | order by service asc, level asc"),
            ("kql", "svc | where msg has \"timeout\" | project ts, service, latency_ms | order by ts asc"),
            ("sql", "SELECT service, avg(latency_ms) AS a FROM svc WHERE level = 'info' GROUP BY service ORDER BY service"),
            ("sql", "SELECT ts, msg FROM svc ORDER BY latency_ms DESC, ts ASC LIMIT 7"),
            ("kql", "svc | top 3 by latency_ms desc | project service, latency_ms"),
        ]
        for (language, text) in queries {
            guard case .rows(let expected, _) = try await service.execute(QueryRequest(text: text, language: language, nowNanos: 0)) else {
                Issue.record("not rows: \(text)")
                continue
            }
            let expectedLines = expected.rows.map { ResultFormat.jsonObject(names: expected.names, values: $0) }
            // NDJSON: one line per row, byte for byte what the CLI's json format prints.
            let ndjson = try await f.post("/v1/query", "{\"query\":\(JSONText.quote(text)),\"lang\":\"\(language)\",\"format\":\"ndjson\"}", key: f.admin)
            #expect(ndjson.status == 200 && ndjson.headers["content-type"] == "application/x-ndjson", "\(ndjson)")
            #expect(ndjson.text.split(separator: "\n").map(String.init) == expectedLines, "\(text)")
            #expect(ndjson.headers["kyma-rows"] == String(expected.rows.count), "the trailer counts the rows")
            // JSON document: columns, then the same rows, then stats.
            let document = try await f.post("/v1/query", "{\"query\":\(JSONText.quote(text)),\"lang\":\"\(language)\"}", key: f.admin)
            #expect(document.json["columns"] as? [String] == expected.names)
            #expect(ServerFixture.rows(document).map(canonical) == expectedLines.map { canonical(try! JSONSerialization.jsonObject(with: Data($0.utf8))) })
            #expect((document.json["stats"] as? [String: Any])?["rows"] as? Int == expected.rows.count)
            // CSV through GET, the header line first.
            let path = "/v1/query?q=\(text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&lang=\(language)&format=csv"
            let csv = try await f.get(path, key: f.admin)
            #expect(csv.text == ResultFormat.csv.header(expected.names) + ResultFormat.csv.rows(expected.batches.first ?? .init(rowCount: 0), names: expected.names)
                    || expected.batches.count > 1, "\(text): \(csv.text)")
            #expect(csv.text.split(separator: "\n").count == expected.rows.count + 1)
        }
    }

    @Test func errorsHaveTheirKindStatusAndPosition() async throws {
        let f = try await ServerFixture.make("kyma_serve_err", configure: { $0.queryMaxBytesRead = 64 })
        defer { Task { await f.stop() } }
        _ = try await f.ingest("svc", serviceRows, query: "?time_field=ts")
        let syntax = try await f.post("/v1/query", #"{"query":"svc | where"}"#, key: f.admin)
        #expect(syntax.status == 400 && syntax.errorKind == "bad_query", "\(syntax)")
        let position = (syntax.json["error"] as? [String: Any])?["position"] as? [String: Any]
        #expect(position?["line"] as? Int == 1 && (position?["column"] as? Int ?? 0) > 1, "\(syntax)")
        let unknown = try await f.post("/v1/query", #"{"query":"nosuch | take 1"}"#, key: f.admin)
        #expect(unknown.status == 404 && unknown.errorKind == "unknown_table", "\(unknown)")
        let budget = try await f.post("/v1/query", #"{"query":"svc | summarize count() by service"}"#, key: f.admin)
        #expect(budget.status == 413 && budget.errorKind == "budget_exceeded", "\(budget)")
        for body in [#"{"query": 5}"#, #"{"query":"svc","format":"xml"}"#, #"{"query":"svc","lang":"cobol"}"#, #"{"querry":"svc"}"#, "[1,2]", "{not json",
                     #"{"query":"svc","limit":-1}"#, #"{"query":"svc","timeout_ms":1.5}"#] {
            let reply = try await f.post("/v1/query", body, key: f.admin)
            #expect(reply.status == 400 && reply.errorKind == "bad_request", "\(body): \(reply)")
        }
        let route = try await f.get("/v2/nothing", key: f.admin)
        #expect(route.status == 404 && route.errorKind == "not_found", "\(route)")
    }

    @Test func theResultSizeLimitStopsAQuery() async throws {
        let f = try await ServerFixture.make("kyma_serve_big", configure: { $0.maxResultBytes = 2_000 })
        defer { Task { await f.stop() } }
        _ = try await f.ingest("svc", serviceRows, query: "?time_field=ts")
        let small = try await f.post("/v1/query", #"{"query":"svc | summarize count() by service","format":"ndjson"}"#, key: f.admin)
        #expect(small.status == 200, "\(small)")
        let big = try await f.post("/v1/query", #"{"query":"svc | project ts, msg","format":"ndjson"}"#, key: f.admin)
        #expect(big.status == 413 && big.errorKind == "budget_exceeded" && big.text.contains("result bytes"), "\(big)")
    }

    @Test func limitStopsTheStreamAndExplainShowsTheCascade() async throws {
        let f = try await ServerFixture.make("kyma_serve_lim")
        defer { Task { await f.stop() } }
        _ = try await f.ingest("svc", serviceRows, query: "?time_field=ts")
        let limited = try await f.post("/v1/query", #"{"query":"svc | project ts","format":"ndjson","limit":5}"#, key: f.admin)
        #expect(limited.status == 200 && limited.text.split(separator: "\n").count == 5, "\(limited)")
        let explained = try await f.post("/v1/explain", #"{"query":"svc | where msg has \"timeout\" | count","analyze":true}"#, key: f.admin)
        #expect(explained.status == 200, "\(explained)")
        let profile = explained.json["profile"] as? [String: Any] ?? [:]
        #expect(profile["rowsTotal"] as? Int == 60 && profile["rowsMatched"] as? Int == 15, "\(explained)")
        #expect(explained.json["analyzed"] as? Bool == true && (explained.json["text"] as? String ?? "").contains("Pruning cascade"))
        let sqlExplain = try await f.post("/v1/query", #"{"query":"EXPLAIN SELECT count(*) FROM svc","lang":"sql"}"#, key: f.admin)
        #expect(sqlExplain.status == 200 && sqlExplain.json["analyzed"] as? Bool == false, "\(sqlExplain)")
    }
}

@Suite("HTTP server: keys")
struct ServerAccessTests {
    @Test func keysAreCheckedRouteByRoute() async throws {
        let f = try await ServerFixture.make("kyma_serve_auth")
        defer { Task { await f.stop() } }
        _ = try await f.ingest("svc", serviceRows, query: "?time_field=ts")
        _ = try await f.ingest("other", [#"{"x":1}"#])
        let reader = try await f.key(.read, tables: ["svc"])
        let writer = try await f.key(.write, tables: ["svc"])
        let line = Array("{\"x\":2}\n".utf8)
        let ndjson = ["Content-Type": "application/x-ndjson"]
        // Without a key, a wrong key, a malformed token: 401 on every route that is not public.
        for (key, what) in [(nil, "none"), ("kyma_000000000000_" + String(repeating: "0", count: 64), "unknown"), ("secret", "malformed")] as [(String?, String)] {
            for (method, path) in [("GET", "/v1/tables"), ("POST", "/v1/query"), ("GET", "/v1/tables/svc"), ("POST", "/v1/tables/svc/ingest"), ("POST", "/_bulk"),
                                   ("POST", "/v1/logs"), ("GET", "/v1/collections")] {
                let reply = try await f.request(method, path, key: key, body: method == "POST" ? line : nil)
                #expect(reply.status == 401 && reply.errorKind == "unauthorized", "\(what) key, \(method) \(path): \(reply)")
                #expect(!reply.text.contains("secret"), "the token is never echoed")
            }
        }
        for path in ["/health", "/metrics", "/openapi.yaml", "/"] {
            #expect(try await f.get(path, key: nil).status == 200, "\(path) is public")
        }
        // A read key scoped to svc: reads svc, nothing else; writes nothing.
        #expect(try await f.post("/v1/query", #"{"query":"svc | count"}"#, key: reader).status == 200)
        #expect(try await f.post("/v1/query", #"{"query":"SELECT count(*) FROM svc","lang":"sql"}"#, key: reader).status == 200)
        #expect(try await f.post("/v1/query", #"{"query":"other | count"}"#, key: reader).status == 403)
        #expect(try await f.post("/v1/query", #"{"query":"SELECT * FROM (SELECT x FROM other) t","lang":"sql"}"#, key: reader).status == 403)
        #expect(try await f.post("/v1/explain", #"{"query":"other | count"}"#, key: reader).status == 403)
        #expect(try await f.get("/v1/tables/other", key: reader).status == 403)
        #expect(try await f.get("/v1/tables/svc", key: reader).status == 200)
        let listed = try await f.get("/v1/tables", key: reader)
        #expect((listed.json["tables"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["svc"], "\(listed)")
        #expect(try await f.request("POST", "/v1/tables/svc/ingest", key: reader, body: line, headers: ndjson).status == 403)
        #expect(try await f.post("/v1/tables", #"{"name":"svc2"}"#, key: reader).status == 403)
        // A write key scoped to svc: ingests into svc only; cannot drop it.
        #expect(try await f.request("POST", "/v1/tables/svc/ingest", key: writer, body: line, headers: ndjson).status == 200)
        #expect(try await f.request("POST", "/v1/tables/other/ingest", key: writer, body: line, headers: ndjson).status == 403)
        let bulk = try await f.request("POST", "/_bulk", key: writer, body: Array("{\"index\":{\"_index\":\"other\"}}\n{\"x\":3}\n{\"index\":{\"_index\":\"svc\"}}\n{\"ts\":\"2026-12-02T00:00:00Z\",\"x\":4}\n".utf8),
                                       headers: ["Content-Type": "application/x-ndjson"])
        let items = (bulk.json["items"] as? [[String: Any]]) ?? []
        #expect(items.compactMap { ($0["index"] as? [String: Any])?["status"] as? Int } == [403, 201], "\(bulk)")
        #expect(try await f.request("DELETE", "/v1/tables/svc", key: writer).status == 403)
        #expect(try await f.post("/v1/logs", "{}", key: writer, headers: ["X-Kyma-Table": "other"]).status == 403)
        #expect(try await f.post("/v1/collections", #"{"name":"svc","dim":2}"#, key: writer).status == 403)
        // Revocation takes effect on the next request.
        let id = try #require(APIKeyToken.parse(reader)?.id)
        #expect(try await f.services.catalog.revokeAPIKey(id: id))
        #expect(try await f.post("/v1/query", #"{"query":"svc | count"}"#, key: reader).status == 401)
    }
}

@Suite("HTTP server: ingest")
struct ServerIngestTests {
    @Test func ndjsonTextAndCompressedBodiesAreAcknowledgedOnceDurable() async throws {
        let f = try await ServerFixture.make("kyma_serve_ing", configure: { $0.maxBodyBytes = 64 << 10 })
        defer { Task { await f.stop() } }
        let body = serviceRows.joined(separator: "\n") + "\n{\"ts\":\"not a time\"}\n"
        let plain = try await f.request("POST", "/v1/tables/svc/ingest?time_field=ts", key: f.admin, body: Array(body.utf8),
                                        headers: ["Content-Type": "application/x-ndjson"])
        #expect(plain.status == 200 && plain.json["accepted"] as? Int == 60 && plain.json["rejected_count"] as? Int == 1, "\(plain)")
        #expect(((plain.json["rejected"] as? [[String: Any]])?.first?["line"] as? Int) == 61)
        let gzip = try await f.request("POST", "/v1/tables/svc/ingest", key: f.admin, body: try Deflate.gzip(Array(body.utf8)),
                                       headers: ["Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"])
        #expect(gzip.status == 200 && gzip.json["accepted"] as? Int == 60, "the table's time column is used: \(gzip)")
        let zstd = try await f.request("POST", "/v1/tables/svc/ingest", key: f.admin, body: try Codec.zstd.compress(Array(body.utf8)),
                                       headers: ["Content-Type": "application/x-ndjson", "Content-Encoding": "zstd"])
        #expect(zstd.status == 200 && zstd.json["accepted"] as? Int == 60, "\(zstd)")
        let count = try await f.post("/v1/query", #"{"query":"svc | count"}"#, key: f.admin)
        #expect(ServerFixture.rows(count).first?["Count"] as? Int == 180, "\(count)")
        // Text lines into a table of their own.
        let text = try await f.request("POST", "/v1/tables/lines/ingest", key: f.admin, body: Array("one\ntwo\nthree\n".utf8), headers: ["Content-Type": "text/plain"])
        #expect(text.status == 200 && text.json["accepted"] as? Int == 3, "\(text)")
        // Bad input: each a clear 4xx, nothing written.
        let rejectAll = try await f.request("POST", "/v1/tables/svc/ingest?on_error=reject", key: f.admin, body: Array("{\"a\":\n".utf8),
                                            headers: ["Content-Type": "application/x-ndjson"])
        #expect(rejectAll.status == 400, "\(rejectAll)")
        let huge = try await f.request("POST", "/v1/tables/svc/ingest", key: f.admin, body: [UInt8](repeating: 0x20, count: 100 << 10),
                                       headers: ["Content-Type": "application/x-ndjson"])
        #expect(huge.status == 413 && huge.errorKind == "payload_too_large", "\(huge)")
        let bomb = try await f.request("POST", "/v1/tables/svc/ingest", key: f.admin, body: try Deflate.gzip([UInt8](repeating: 0x20, count: 1 << 20)),
                                       headers: ["Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"])
        #expect(bomb.status == 413, "a decompression bomb stops at the limit: \(bomb)")
        let broken = try await f.request("POST", "/v1/tables/svc/ingest", key: f.admin, body: [1, 2, 3], headers: ["Content-Encoding": "gzip"])
        #expect(broken.status == 400, "\(broken)")
        let xml = try await f.request("POST", "/v1/tables/svc/ingest", key: f.admin, body: Array("<a/>".utf8), headers: ["Content-Type": "application/xml"])
        #expect(xml.status == 415, "\(xml)")
        let brotli = try await f.request("POST", "/v1/tables/svc/ingest", key: f.admin, body: [1], headers: ["Content-Encoding": "br"])
        #expect(brotli.status == 415, "\(brotli)")
        let option = try await f.request("POST", "/v1/tables/svc/ingest?time_fromat=x", key: f.admin, body: [1])
        #expect(option.status == 400 && option.text.contains("time_fromat"), "\(option)")
        #expect(ServerFixture.rows(try await f.post("/v1/query", #"{"query":"svc | count"}"#, key: f.admin)).first?["Count"] as? Int == 180)
    }

    @Test func anIdempotencyKeyMakesARetryANoOp() async throws {
        let f = try await ServerFixture.make("kyma_serve_idem")
        defer { Task { await f.stop() } }
        let body = Array((serviceRows.joined(separator: "\n") + "\n").utf8)
        let headers = ["Content-Type": "application/x-ndjson", "Idempotency-Key": "load-42"]
        let first = try await f.request("POST", "/v1/tables/svc/ingest?time_field=ts", key: f.admin, body: body, headers: headers)
        #expect(first.status == 200 && first.json["accepted"] as? Int == 60 && first.json["idempotent_replay"] as? Bool == false, "\(first)")
        let retry = try await f.request("POST", "/v1/tables/svc/ingest?time_field=ts", key: f.admin, body: body, headers: headers)
        #expect(retry.status == 200 && retry.json["accepted"] as? Int == 0 && retry.json["idempotent_replay"] as? Bool == true, "\(retry)")
        let other = try await f.request("POST", "/v1/tables/svc/ingest?time_field=ts", key: f.admin, body: Array(body.dropLast(10)) + [0x0A], headers: headers)
        #expect(other.status == 409 && other.errorKind == "conflict", "other bytes under the key are refused: \(other)")
        #expect(ServerFixture.rows(try await f.post("/v1/query", #"{"query":"svc | count"}"#, key: f.admin)).first?["Count"] as? Int == 60)
    }

    @Test func elasticsearchBulkGivesPerItemResults() async throws {
        let f = try await ServerFixture.make("kyma_serve_bulk")
        defer { Task { await f.stop() } }
        let body = """
            {"index":{"_index":"logs","_id":"a1"}}
            {"@timestamp":"2026-12-01T10:00:00Z","message":"first","n":1}
            {"create":{"_index":"logs"}}
            {"@timestamp":"2026-12-01T10:00:01Z","message":"second","n":2}
            {"index":{"_index":"logs","_id":"bad"}}
            {"@timestamp":"2026-12-01T10:00:02Z","message":
            {"delete":{"_index":"logs","_id":"a1"}}
            {"index":{}}
            {"@timestamp":"2026-12-01T10:00:03Z","message":"to the path's index"}

            """
        let reply = try await f.request("POST", "/events/_bulk", key: f.admin, body: Array(body.utf8), headers: ["Content-Type": "application/x-ndjson"])
        #expect(reply.status == 200 && reply.headers["x-elastic-product"] == "Elasticsearch", "\(reply)")
        #expect(reply.json["errors"] as? Bool == true)
        let items = (reply.json["items"] as? [[String: Any]]) ?? []
        let results = items.map { item -> (String, Int, String) in
            let (action, value) = item.first!
            let meta = value as? [String: Any] ?? [:]
            return (action, meta["status"] as? Int ?? 0, meta["_index"] as? String ?? "")
        }
        #expect(results.map(\.0) == ["index", "create", "index", "delete", "index"])
        #expect(results.map(\.1) == [201, 201, 400, 400, 201], "\(reply)")
        #expect(results.map(\.2) == ["logs", "logs", "logs", "logs", "events"])
        #expect((items[0]["index"] as? [String: Any])?["_id"] as? String == "a1")
        let described = try await f.get("/v1/tables/logs", key: f.admin)
        #expect(described.json["time_column"] as? String == "@timestamp" && described.json["rows"] as? Int == 2, "\(described)")
        let malformed = try await f.request("POST", "/_bulk", key: f.admin, body: Array("{\"index\"\n{}\n".utf8))
        #expect(malformed.status == 400 && malformed.headers["x-elastic-product"] == "Elasticsearch", "\(malformed)")
    }

    @Test func otlpLogsInProtobufAndJSONBecomeRows() async throws {
        let f = try await ServerFixture.make("kyma_serve_otlp")
        defer { Task { await f.stop() } }
        let json = """
            {"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
              "scopeLogs":[{"scope":{"name":"lib","version":"1.2"},"logRecords":[
                {"timeUnixNano":"1764583200000000000","severityNumber":17,"severityText":"ERROR","body":{"stringValue":"payment failed"},
                 "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174",
                 "attributes":[{"key":"http.status","value":{"intValue":"503"}},{"key":"retry","value":{"boolValue":true}}]},
                {"timeUnixNano":"1764583201000000000","severityText":"INFO","body":{"kvlistValue":{"values":[{"key":"k","value":{"doubleValue":1.5}}]}}}
              ]}]}]}
            """
        let reply = try await f.post("/v1/logs", json, key: f.admin)
        #expect(reply.status == 200 && reply.text == "{}", "\(reply)")
        let rows = ServerFixture.rows(try await f.post("/v1/query", #"{"query":"otel_logs | order by timestamp asc"}"#, key: f.admin))
        #expect(rows.count == 2)
        #expect(rows.first?["resource.service.name"] as? String == "checkout")
        #expect(rows.first?["scope.name"] as? String == "lib" && rows.first?["scope.version"] as? String == "1.2")
        #expect(rows.first?["trace_id"] as? String == "5b8efff798038103d269b633813fc60c")
        #expect(rows.first?["attributes.http.status"] as? Int == 503 && rows.first?["attributes.retry"] as? Bool == true)
        #expect(rows.first?["severity_number"] as? Int == 17 && rows.first?["body"] as? String == "payment failed")
        #expect(rows.first?["timestamp"] as? String == "2025-12-01T10:00:00Z")
        #expect(rows.last?["body"] as? String == #"{"k":1.5}"#)
        let bad = try await f.post("/v1/logs", #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz"}]}]}]}"#, key: f.admin)
        #expect(bad.status == 400, "\(bad)")
        let garbage = try await f.request("POST", "/v1/logs", key: f.admin, body: [0xFF, 0xFF, 0xFF], headers: ["Content-Type": "application/x-protobuf"])
        #expect(garbage.status == 400, "\(garbage)")
        let wrongType = try await f.request("POST", "/v1/logs", key: f.admin, body: [1], headers: ["Content-Type": "text/plain"])
        #expect(wrongType.status == 415, "\(wrongType)")
    }

    @Test func saturatedIngestIsAnsweredWith429() async throws {
        let gate = StoreGate()
        let f = try await ServerFixture.make("kyma_serve_429", configure: { $0.maxConcurrentIngests = 1 }, store: { GatedStore(base: $0, gate: gate) })
        defer { Task { await f.stop() } }
        gate.close()
        let line = Array("{\"x\":1}\n".utf8)
        let first = Task { try await f.request("POST", "/v1/tables/t/ingest", key: f.admin, body: line) }
        #expect(await gate.waitForWaiter(seconds: 30), "the first ingest reached the store")
        let second = try await f.request("POST", "/v1/tables/t/ingest", key: f.admin, body: line)
        #expect(second.status == 429 && second.headers["retry-after"] == "1", "\(second)")
        gate.open()
        #expect(try await first.value.status == 200)
        #expect(try await f.request("POST", "/v1/tables/t/ingest", key: f.admin, body: line).status == 200, "the slot is free again")
    }
}

@Suite("HTTP server: tables, vectors, operations")
struct ServerResourceTests {
    @Test func tablesAreCreatedDescribedCompactedAndDropped() async throws {
        let f = try await ServerFixture.make("kyma_serve_tab")
        defer { Task { await f.stop() } }
        let created = try await f.post("/v1/tables", #"{"name":"a/b c","format":"parquet","time_column":"ts","options":{"block_rows":8}}"#, key: f.admin)
        #expect(created.status == 201, "\(created)")
        #expect(try await f.post("/v1/tables", #"{"name":"a/b c"}"#, key: f.admin).status == 409)
        #expect(try await f.post("/v1/tables", #"{"name":"x","format":"orc"}"#, key: f.admin).status == 400)
        #expect(try await f.post("/v1/tables", #"{"name":"x","options":{"block_rows":"many"}}"#, key: f.admin).status == 400)
        for i in 0..<3 { _ = try await f.ingest("a%2Fb%20c", Array(serviceRows[(i * 20)..<(i * 20 + 20)])) }
        let described = try await f.get("/v1/tables/a%2Fb%20c", key: f.admin)
        #expect(described.json["rows"] as? Int == 60 && described.json["extents"] as? Int == 3 && described.json["format"] as? String == "parquet", "\(described)")
        let columns = ((described.json["columns"] as? [[String: Any]]) ?? []).compactMap { column in
            (column["name"] as? String).map { ($0, column["type"] as? String ?? "") }
        }
        #expect(columns.contains { $0 == ("latency_ms", "int64") } && columns.contains { $0 == ("ts", "timestamp") }, "\(columns)")
        #expect(described.json["min_time"] as? String == "2026-12-01T10:00:00Z" && described.json["max_time"] as? String == "2026-12-01T10:59:00Z")
        let compacted = try await f.post("/v1/tables/a%2Fb%20c/compact", #"{"grace_seconds":0}"#, key: f.admin)
        #expect(compacted.status == 200 && compacted.json["extents_merged"] as? Int == 3, "\(compacted)")
        #expect(try await f.get("/v1/tables/a%2Fb%20c", key: f.admin).json["extents"] as? Int == 1)
        #expect(ServerFixture.rows(try await f.post("/v1/query", #"{"query":"SELECT count(*) AS \"Count\" FROM \"a/b c\"","lang":"sql"}"#, key: f.admin)).first?["Count"] as? Int == 60)
        #expect(try await f.request("DELETE", "/v1/tables/a%2Fb%20c", key: f.admin).status == 200)
        #expect(try await f.get("/v1/tables/a%2Fb%20c", key: f.admin).status == 404)
        #expect(try await f.get("/v1/tables/..%2F..%2Fetc", key: f.admin).status == 404, "a name is a name, never a path")
    }

    @Test func vectorCollectionsAnswerAsInProcess() async throws {
        let f = try await ServerFixture.make("kyma_serve_vec")
        defer { Task { await f.stop() } }
        let created = try await f.post("/v1/collections", #"{"name":"docs","dim":3,"metric":"l2","quantization":"int8"}"#, key: f.admin)
        #expect(created.status == 201 && created.json["quantization"] as? String == "int8", "\(created)")
        #expect(try await f.post("/v1/collections", #"{"name":"other","dim":3,"quantization":"int4"}"#, key: f.admin).status == 400)
        var records = ""
        for i in 0..<50 { records += #"{"id":"d\#(i)","vector":[\#(i),\#(i % 7),1],"fields":{"kind":"\#(i % 2 == 0 ? "even" : "odd")"},"text":"doc \#(i) about \#(i % 5 == 0 ? "rockets" : "boats")"}"# + "\n" }
        let upsert = try await f.request("POST", "/v1/collections/docs/upsert", key: f.admin, body: Array(records.utf8), headers: ["Content-Type": "application/x-ndjson"])
        #expect(upsert.status == 200 && upsert.json["live"] as? Int == 50, "\(upsert)")
        let search = try await f.post("/v1/collections/docs/search", #"{"vector":[10.2,3,1],"k":3,"exact":true}"#, key: f.admin)
        #expect((search.json["results"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["d10", "d11", "d9"], "\(search)")
        let filtered = try await f.post("/v1/collections/docs/search", #"{"vector":[10.2,3,1],"k":2,"filter":"kind == \"odd\""}"#, key: f.admin)
        #expect((filtered.json["results"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["d11", "d9"], "\(filtered)")
        let sqlFilter = try await f.post("/v1/collections/docs/search", #"{"vector":[10.2,3,1],"k":1,"filter":"kind = 'even'","filter_lang":"sql"}"#, key: f.admin)
        #expect((sqlFilter.json["results"] as? [[String: Any]])?.first?["id"] as? String == "d10", "\(sqlFilter)")
        let hybrid = try await f.post("/v1/collections/docs/hybrid", #"{"text":"rockets","vector":[10.2,3,1],"k":3}"#, key: f.admin)
        #expect((hybrid.json["results"] as? [[String: Any]])?.first?["id"] as? String == "d10", "\(hybrid)")
        let deleted = try await f.post("/v1/collections/docs/delete", #"{"ids":["d10","nosuch"]}"#, key: f.admin)
        #expect(deleted.json["deleted"] as? Int == 1 && deleted.json["live"] as? Int == 49, "only live ids count: \(deleted)")
        #expect(try await f.post("/v1/collections/docs/search", #"{"vector":[1,2],"k":1}"#, key: f.admin).status == 400, "wrong dimension")
        #expect(try await f.post("/v1/collections/docs/upsert", #"{"id":"x","vector":null}"#, key: f.admin).status == 400)
        #expect(try await f.post("/v1/collections/nosuch/search", #"{"vector":[1,2,3]}"#, key: f.admin).status == 404)
        #expect(try await f.request("DELETE", "/v1/collections/docs", key: f.admin).status == 200)
    }

    @Test func metricsParseAndCountWhatHappened() async throws {
        let f = try await ServerFixture.make("kyma_serve_met")
        defer { Task { await f.stop() } }
        _ = try await f.ingest("svc", serviceRows, query: "?time_field=ts")
        _ = try await f.post("/v1/query", #"{"query":"svc | count"}"#, key: f.admin)
        let text = try await f.get("/metrics", key: nil).text
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            #expect(parts.count == 2 && Double(parts[1]) != nil, "a sample is a name and a number: \(line)")
            samples[String(parts[0])] = Double(parts[1])
        }
        #expect(samples["kyma_ingest_rows_total"] == 60)
        #expect(samples["kyma_http_requests_total{route=\"/v1/query\",method=\"POST\",status=\"200\"}"] == 1, "\(text)")
        #expect(samples["kyma_query_rows_total{stage=\"decoded\"}"] == 60)
        #expect(samples["kyma_open_queries"] == 0)
        let ready = try await f.get("/readyz", key: nil)
        #expect(ready.status == 200 && ready.json["ready"] as? Bool == true, "\(ready)")
    }

    @Test func theSpecNamesEveryRouteAndNothingElse() async throws {
        let f = try await ServerFixture.make("kyma_serve_spec")
        defer { Task { await f.stop() } }
        let spec = try await f.get("/openapi.yaml", key: nil)
        #expect(spec.status == 200)
        // The served spec is docs/openapi.yaml.
        let root = try #require(TestServices.packageRoot())
        #expect(LocalFile.readAll(root + "/docs/openapi.yaml") == spec.body, "docs/openapi.yaml is the spec the server serves")
        var documented: Set<String> = []
        var path: String? = nil
        for line in spec.text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  /") && line.hasSuffix(":") { path = String(line.dropFirst(2).dropLast()) }
            else if line.hasPrefix("    "), !line.hasPrefix("     "), let path, ["get:", "post:", "put:", "delete:", "head:"].contains(line.trimmingCharacters(in: .whitespaces)) {
                // {name} in the spec is :name in the router.
                let routerPath = path.replacingOccurrences(of: "{", with: ":").replacingOccurrences(of: "}", with: "")
                documented.insert(line.trimmingCharacters(in: .whitespaces).dropLast().uppercased() + " " + routerPath)
            } else if !line.hasPrefix(" ") { path = nil }
        }
        #expect(documented == Set(f.server.routes), "in the spec only: \(documented.subtracting(f.server.routes)); served only: \(Set(f.server.routes).subtracting(documented))")
    }
}
