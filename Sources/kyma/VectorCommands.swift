// `kyma vector ...`: vector collections on the object store and catalog: create, upsert (JSON
// lines or .fvecs), search (k nearest, optional KQL filter on the payload), hybrid (BM25 +
// vector, RRF or weighted fusion), delete, compact, drop. Every command loads the collection
// from the catalog and the store: nothing lives only on this node.

import ArgumentParser
import KymaCatalog
import KymaCore
import KymaIndex
import KymaIngest
import KymaPlan
import KymaRuntime
import KymaVector

struct Vector: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Vector collections: create, upsert, search, hybrid, delete, compact, drop.",
        subcommands: [Create.self, Upsert.self, Search.self, Hybrid.self, Delete.self, Compact.self, Drop.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a collection.")
        @OptionGroup var services: ServiceOptions
        @Argument var name: String
        @Option(help: "Vector dimension.") var dim: Int
        @Option(help: "l2, cosine or ip.") var metric = "l2"
        @Option(help: "HNSW neighbours per node.") var m = 16
        @Option(name: .customLong("ef-construction"), help: "HNSW build candidate list size.") var efConstruction = 200
        @Option(help: "none, or int8: searches walk the graph on int8 codes and re-rank by exact distance.") var quantization = "none"

        func run() async throws {
            let opened = try await services.open()
            try await reporting {
                _ = try await VectorCollection.create(VectorCollectionDefinition(name: name, dimension: dim, metric: metric, m: m, efConstruction: efConstruction,
                                                                                 quantization: quantization),
                                                      catalog: opened.catalog)
                print("created vector collection \(name) (dim \(dim), \(metric), m \(m), ef-construction \(efConstruction), quantization \(quantization))")
            }
        }
    }

    struct Upsert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Upsert records from JSON lines ({\"id\",\"vector\",\"fields\",\"text\"}) or an .fvecs file (ids = row numbers).")
        @OptionGroup var services: ServiceOptions
        @Argument var name: String
        @Argument var file: String
        @Option(name: .customLong("batch-id"), help: "Client batch id: retrying with the same id is a no-op.") var batchID: String?
        @Option(name: .customLong("records-per-batch"), help: "Records per write-ahead object.") var perBatch = 10_000

        func run() async throws {
            let opened = try await services.open()
            try await reporting {
                let collection = try await VectorCollection.open(name: name, catalog: opened.catalog, store: opened.store)
                let records = try VectorInput.records(file)
                var start = 0, part = 0
                while start < records.count {
                    let slice = Array(records[start..<min(records.count, start + perBatch)])
                    try await collection.upsert(slice, batchID: batchID.map { "\($0)#\(part)" })
                    start += slice.count
                    part += 1
                }
                print("upserted \(records.count) records into \(name) (\(await collection.liveCount) live)")
            }
        }
    }

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The k nearest records to each query vector.")
        @OptionGroup var services: ServiceOptions
        @Argument var name: String
        @Option var k = 10
        @Option var ef: Int?
        @Option(help: "A predicate on the payload fields, e.g. 'genre == \"jazz\" and year > 2000' (KQL) or \"genre = 'jazz' AND year > 2000\" (SQL).") var filter: String?
        @Option(name: .customLong("filter-lang"), help: "The language of --filter: kql or sql.") var filterLanguage = "kql"
        @Option(help: "One query vector as a JSON array.") var vector: String?
        @Option(help: "Query vectors from an .fvecs file.") var fvecs: String?
        @Flag(help: "Exact (brute-force) search.") var exact = false
        @Option(help: "text or json (one line per query with query, ids, scores).") var format = "text"

        func validate() throws {
            guard VectorOutput.formats.contains(format) else { throw ValidationError("--format must be text or json, not '\(format)'") }
        }

        func run() async throws {
            let opened = try await services.open()
            try await reporting {
                let queries = try VectorInput.queries(vector: vector, fvecs: fvecs)
                let predicate = try VectorInput.filter(filter, language: filterLanguage, opened)
                let collection = try await VectorCollection.open(name: name, catalog: opened.catalog, store: opened.store)
                for (number, query) in queries.enumerated() {
                    let results = exact ? try await collection.exactSearch(query, k: k, filter: predicate)
                        : try await collection.search(query, k: k, ef: ef, filter: predicate)
                    VectorOutput.print(number, results, format: format)
                }
            }
        }
    }

    struct Hybrid: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "BM25 over the records' text fused with vector similarity.")
        @OptionGroup var services: ServiceOptions
        @Argument var name: String
        @Option var text: String
        @Option var vector: String
        @Option var k = 10
        @Option var ef: Int?
        @Option(help: "rrf (reciprocal rank fusion, k = 60) or weighted.") var fusion = "rrf"
        @Option(name: .customLong("vector-weight"), help: "Weight of vector similarity in weighted fusion (0...1).") var vectorWeight = 0.5
        @Option(help: "A predicate on the payload fields.") var filter: String?
        @Option(name: .customLong("filter-lang"), help: "The language of --filter: kql or sql.") var filterLanguage = "kql"
        @Option(help: "text or json.") var format = "text"

        func validate() throws {
            guard VectorOutput.formats.contains(format) else { throw ValidationError("--format must be text or json, not '\(format)'") }
        }

        func run() async throws {
            let opened = try await services.open()
            try await reporting {
                let query = try VectorInput.queries(vector: vector, fvecs: nil)[0]
                let mode: Fusion
                switch fusion {
                case "rrf": mode = .reciprocalRank(k: 60)
                case "weighted":
                    guard (0...1).contains(vectorWeight) else { throw VectorError.invalidQuery("--vector-weight must be within 0...1") }
                    mode = .weighted(vectorWeight: vectorWeight)
                default: throw VectorError.invalidQuery("--fusion must be rrf or weighted, not '\(fusion)'")
                }
                let collection = try await VectorCollection.open(name: name, catalog: opened.catalog, store: opened.store)
                let results = try await collection.hybrid(text: text, vector: query, k: k, fusion: mode, ef: ef, filter: try VectorInput.filter(filter, language: filterLanguage, opened))
                VectorOutput.print(0, results, format: format)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete records by id.")
        @OptionGroup var services: ServiceOptions
        @Argument var name: String
        @Argument var ids: [String]

        func run() async throws {
            let opened = try await services.open()
            try await reporting {
                let collection = try await VectorCollection.open(name: name, catalog: opened.catalog, store: opened.store)
                let removed = try await collection.delete(ids: ids)
                print("deleted \(removed) of \(ids.count) id(s) from \(name) (\(await collection.liveCount) live)")
            }
        }
    }

    struct Compact: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rewrite the live records and a fresh graph as one segment (drops tombstones).")
        @OptionGroup var services: ServiceOptions
        @Argument var name: String

        func run() async throws {
            let opened = try await services.open()
            try await reporting {
                let collection = try await VectorCollection.open(name: name, catalog: opened.catalog, store: opened.store)
                let replaced = try await collection.compact()
                print("compacted \(name): \(replaced) object(s) replaced by one segment of \(await collection.liveCount) records")
            }
        }
    }

    struct Drop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop a collection and delete its objects.")
        @OptionGroup var services: ServiceOptions
        @Argument var name: String

        func run() async throws {
            let opened = try await services.open()
            try await reporting {
                let objects = try await VectorCollection.drop(name: name, catalog: opened.catalog, store: opened.store)
                print("dropped vector collection \(name) (\(objects) objects)")
            }
        }
    }
}

/// Runs `body`; any error becomes one line on stderr and exit status 1.
func reporting(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("\(error)")
        throw ExitCode.failure
    }
}

enum VectorInput {
    static func records(_ path: String) throws -> [VectorRecord] {
        if path.hasSuffix(".fvecs") {
            return try VectorFiles.readFvecs(path).enumerated().map { VectorRecord(id: String($0), vector: $1) }
        }
        guard let bytes = LocalFile.readAll(path) else { throw VectorError.invalidQuery("cannot read '\(path)'") }
        return try VectorRecordInput.records(bytes, source: path)
    }

    static func floats(_ text: String, _ place: String) throws -> [Float] {
        try VectorRecordInput.floats(text, place)
    }

    static func queries(vector: String?, fvecs: String?) throws -> [[Float]] {
        switch (vector, fvecs) {
        case (let text?, nil): return [try floats(text, "--vector")]
        case (nil, let path?): return try VectorFiles.readFvecs(path)
        default: throw VectorError.invalidQuery("give exactly one of --vector '[...]' and --fvecs FILE")
        }
    }

    /// A predicate on payload fields, parsed and prepared by the query service.
    static func filter(_ text: String?, language: String, _ opened: KymaServices) throws -> Expr? {
        guard let text else { return nil }
        return try opened.queryService().filter(text, language: language, nowNanos: wallClockNanos())
    }
}

enum VectorOutput {
    static let formats = ["text", "json"]

    static func print(_ number: Int, _ results: [VectorResult], format: String) {
        if format == "json" {
            let ids = results.map { JSONText.quote($0.id) }.joined(separator: ",")
            let scores = results.map { String($0.score) }.joined(separator: ",")
            Swift.print("{\"query\":\(number),\"ids\":[\(ids)],\"scores\":[\(scores)]}")
        } else {
            for (rank, result) in results.enumerated() { Swift.print("\(number)\t\(rank + 1)\t\(result.id)\t\(result.score)") }
        }
    }
}
