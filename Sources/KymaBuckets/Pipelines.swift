// The pipelines a rule may name and the options each takes. Options are checked when a rule
// is made (an unknown option or value is an error then, not when a job runs).
//
//   logs-to-table: JSON lines or text lines, optionally gzip or zstd -> a Kyma table
//     format       json | text | auto (default auto: .json/.jsonl/.ndjson[.gz|.zst] are JSON lines)
//     compression  auto | gzip | zstd | none (default auto: by Content-Encoding, then extension)
//     time_field   the rows' time field (JSON); default: the ingest time as _time
//     time_format  rfc3339 | epoch_s | epoch_ms | epoch_us | epoch_ns (default rfc3339)
//     on_error     skip | reject (default skip: bad lines are left out and counted)
//
//   documents-to-collection: text, Markdown or HTML, optionally gzip or zstd -> chunks ->
//   embeddings -> a vector collection (made on first use with the embedder's dimension)
//     format         auto | text | markdown | html (default auto: by content type, then extension)
//     compression    as above
//     chunk_size     characters per chunk, 50...100000 (default 1000)
//     chunk_overlap  characters each chunk repeats of the one before, 0..<chunk_size (default 100)
//     metric         cosine | l2 | ip (default cosine; used when the collection is made)
//     embedder, dim, embedder_url, embedder_model, embedder_key_env: see KymaEmbedding's
//                    EmbedderOptions (default: the offline hashing embedder, 384 dimensions)
//
//   rows-to-iceberg: CSV (with a header row), JSON lines or Parquet, optionally gzip or zstd ->
//   an Iceberg table `namespace.table` (made from the rows' columns when missing)
//     format         auto | csv | json | parquet (default auto: by extension, then content type)
//     compression    as above
//     time_field     a column of RFC 3339 strings stored as timestamptz
//     csv_delimiter  one character (default ,)

import Foundation
import KymaCatalog
import KymaEmbedding
import KymaIngest

public enum Pipeline: String, Sendable, CaseIterable {
    case logsToTable = "logs-to-table"
    case documentsToCollection = "documents-to-collection"
    case rowsToIceberg = "rows-to-iceberg"

    public static let knownOptions: [Pipeline: Set<String>] = [
        .logsToTable: ["format", "compression", "time_field", "time_format", "on_error"],
        .documentsToCollection: Set(["format", "compression", "chunk_size", "chunk_overlap", "metric"]).union(EmbedderOptions.keys),
        .rowsToIceberg: ["format", "compression", "time_field", "csv_delimiter"],
    ]

    /// The pipeline a rule names, its options checked; `.invalidRule` naming what is wrong.
    public static func validated(_ rule: BucketRule) throws(BucketsError) -> Pipeline {
        guard let pipeline = Pipeline(rawValue: rule.pipeline) else {
            throw BucketsError(.invalidRule, "unknown pipeline '\(rule.pipeline)' (available: \(allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let known = knownOptions[pipeline] ?? []
        if let unknown = rule.options.keys.sorted().first(where: { !known.contains($0) }) {
            throw BucketsError(.invalidRule, "unknown option '\(unknown)' of pipeline \(pipeline.rawValue) (known: \(known.sorted().joined(separator: ", ")))")
        }
        func oneOf(_ key: String, _ values: [String]) throws(BucketsError) {
            if let value = rule.options[key], !values.contains(value) {
                throw BucketsError(.invalidRule, "option \(key) must be one of \(values.joined(separator: ", ")); got '\(value)'")
            }
        }
        try oneOf("compression", ["auto", "gzip", "zstd", "none"])
        switch pipeline {
        case .logsToTable:
            try oneOf("format", ["json", "text", "auto"])
            try oneOf("on_error", ["skip", "reject"])
            if let format = rule.options["time_format"], TimeFormat(rawValue: format) == nil {
                throw BucketsError(.invalidRule, "option time_format '\(format)' is not a time format")
            }
            if rule.options["time_field"] != nil, rule.options["format"] == "text" {
                throw BucketsError(.invalidRule, "option time_field needs JSON lines; format is text")
            }
        case .rowsToIceberg:
            try oneOf("format", ["auto", "csv", "json", "parquet"])
            if let delimiter = rule.options["csv_delimiter"], delimiter.utf8.count != 1 || delimiter == "\"" || delimiter == "\n" {
                throw BucketsError(.invalidRule, "option csv_delimiter must be one ASCII character other than a quote or a line break; got '\(delimiter)'")
            }
            _ = try RowsToIceberg.identifier(rule.destination)
        case .documentsToCollection:
            try oneOf("format", ["auto"] + DocumentKind.allCases.map(\.rawValue))
            try oneOf("metric", ["cosine", "l2", "ip"])
            let size = rule.options["chunk_size"].map { Int($0) ?? -1 } ?? DocumentsToCollection.defaultChunkSize
            guard (50...100_000).contains(size) else {
                throw BucketsError(.invalidRule, "option chunk_size must be a whole number in 50...100000; got '\(rule.options["chunk_size"] ?? "")'")
            }
            if let text = rule.options["chunk_overlap"] {
                guard let overlap = Int(text), overlap >= 0, overlap < size else {
                    throw BucketsError(.invalidRule, "option chunk_overlap must be a whole number in 0..<\(size) (below chunk_size); got '\(text)'")
                }
            }
            do {
                _ = try EmbedderOptions.make(rule.options, environment: nil)
            } catch {
                throw BucketsError(.invalidRule, error.message)
            }
        }
        if rule.destination.isEmpty { throw BucketsError(.invalidRule, "the rule names no destination (a table or a collection)") }
        for pattern in rule.include + rule.exclude where pattern.isEmpty { throw BucketsError(.invalidRule, "an empty key pattern") }
        if let low = rule.minSize, let high = rule.maxSize, low > high {
            throw BucketsError(.invalidRule, "min_size \(low) is larger than max_size \(high)")
        }
        return pipeline
    }
}

extension BucketRule {
    /// Whether this rule takes `object`: enabled, a key one include pattern matches (any key
    /// when there are none) and no exclude pattern does, a content type it lists (any when it
    /// lists none; parameters such as `; charset=` ignored), a size in range.
    public func takes(_ object: BucketObject) -> Bool {
        guard enabled else { return false }
        if !include.isEmpty, !include.contains(where: { KeyPattern($0).matches(object.key) }) { return false }
        if exclude.contains(where: { KeyPattern($0).matches(object.key) }) { return false }
        if !contentTypes.isEmpty {
            let type = (object.contentType ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            guard contentTypes.contains(where: { $0.lowercased() == type }) else { return false }
        }
        if let minSize, object.size < minSize { return false }
        if let maxSize, object.size > maxSize { return false }
        return true
    }
}
