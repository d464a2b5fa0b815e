// A page of a bucket's keys as S3 lists them, shared by the S3 byte plane (ListObjects V1 and
// V2, ListObjectVersions) and the admin API's JSON listing: keys after a marker under a prefix,
// grouped into common prefixes at the first delimiter after the prefix.

import KymaCatalog

struct BucketListing {
    var objects: [BucketObject] = []
    var prefixes: [String] = []
    var truncated = false
    /// The marker to continue after when the page is truncated: its last key or prefix.
    var next: String?

    /// Keys after `marker` under `prefix`, grouped by `delimiter`, up to `maxKeys` entries (keys
    /// and prefixes both count). A common prefix at or before the marker was listed already: a
    /// marker that is itself a common prefix skips every key under it.
    static func page(_ catalog: any Catalog, bucket: String, prefix: String, delimiter: String?, marker: String?, maxKeys: Int) async throws -> BucketListing {
        var page = BucketListing()
        guard maxKeys > 0 else { return page }
        var cursor = marker
        let delimiter = delimiter.flatMap { $0.isEmpty ? nil : $0 }
        let batchSize = 1000
        while true {
            let batch = try await catalog.listObjects(bucket: bucket, prefix: prefix, after: cursor, limit: batchSize)
            for object in batch {
                cursor = object.key
                var entry = object.key
                var grouped = false
                if let delimiter, let range = object.key.dropFirst(prefix.count).range(of: delimiter) {
                    entry = String(object.key[..<range.upperBound])
                    grouped = true
                    if let marker, entry <= marker { continue }
                    if page.prefixes.last == entry { continue }
                }
                if page.objects.count + page.prefixes.count == maxKeys {
                    page.truncated = true
                    return page
                }
                if grouped { page.prefixes.append(entry) } else { page.objects.append(object) }
                page.next = entry
            }
            if batch.count < batchSize { break }
        }
        page.next = nil
        return page
    }
}
