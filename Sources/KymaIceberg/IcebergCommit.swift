// Optimistic commits. Every operation states its change as the REST spec's requirements and
// updates, computed from the table it read. A pointer catalog gets the complete new metadata
// (the updates applied here, plus the metadata log) written as a new file and swapped in by
// compare-and-set; the REST catalog gets the request and applies it itself. A lost race re-reads
// the table and computes the change again on the new base, after a jittered backoff.

import Foundation
import KymaCatalog

/// One change to a table, in the REST spec's vocabulary (JSON objects).
struct TableChange {
    var requirements: [[String: Any]]
    var updates: [[String: Any]]
}

extension IcebergTables {
    /// Commits the change `make` computes from the current table (nil: nothing to do) and
    /// returns the table after it.
    func commit(_ identifier: IcebergTableIdentifier, nowMillis: Int64, attempts: Int = 25,
                _ make: (IcebergTable) async throws(IcebergError) -> TableChange?) async throws(IcebergError) -> IcebergTable {
        for attempt in 0..<attempts {
            if attempt > 0 {
                // Exponential backoff with full jitter (5 ms doubling, capped at 1 s), so a crowd
                // of committers spreads out instead of colliding again.
                let cap = min(1000.0, 5.0 * Double(1 << min(attempt, 10)))
                try? await Task.sleep(nanoseconds: UInt64(Double.random(in: 0...cap) * 1_000_000))
            }
            let table = try await load(identifier)
            guard let change = try await make(table) else { return table }
            // Only a REST catalog reads the request; a pointer catalog gets the metadata file.
            let request = catalog.swapsMetadataPointer ? [] : try Self.json(["identifier": ["namespace": [identifier.namespace], "name": identifier.name],
                                                                             "requirements": change.requirements, "updates": change.updates] as [String: Any])
            var newLocation = "", written: [UInt8]? = nil
            if catalog.swapsMetadataPointer {
                let metadata = try Self.apply(change.updates, to: table, nowMillis: nowMillis)
                let version = ((table.metadata["metadata-log"] as? [Any])?.count ?? 0) + 1
                newLocation = table.location + "/metadata/\(String(format: "%05d", version))-\(UUID().uuidString.lowercased()).metadata.json"
                let bytes = try Self.json(metadata)
                try await put(newLocation, bytes)
                written = bytes
            }
            let commit = IcebergCommit(expected: table.metadataLocation, newLocation: newLocation, restRequest: request)
            do {
                _ = try await catalog.commitTable(identifier, commit)
            } catch .conflict {
                if catalog.swapsMetadataPointer, let key = try? key(newLocation) { try? await store.delete(key) }
                continue
            } catch {
                throw .catalog(error.description)
            }
            // The swap succeeded, so the metadata written above is the table now: no need to fetch
            // it back. (A REST catalog wrote its own; read that.)
            if let written {
                let document = try MetadataDocument(json: written, location: newLocation)
                documents.put(newLocation, document)
                return IcebergTable(identifier: identifier, metadataLocation: newLocation, document: document)
            }
            return try await load(identifier)
        }
        throw .conflict("gave up after \(attempts) concurrent commits on \(identifier)")
    }

    /// The table metadata after `updates` (the REST spec's semantics for the update kinds Kyma
    /// sends), with the base file added to the metadata log.
    static func apply(_ updates: [[String: Any]], to table: IcebergTable, nowMillis: Int64) throws(IcebergError) -> [String: Any] {
        var metadata = table.metadata
        var lastAddedSchema: Int?
        for update in updates {
            switch update["action"] as? String {
            case "add-snapshot":
                guard let snapshot = update["snapshot"] as? [String: Any], let sequence = (snapshot["sequence-number"] as? NSNumber)?.int64Value else {
                    throw .invalid("add-snapshot without a snapshot")
                }
                metadata["snapshots"] = ((metadata["snapshots"] as? [Any]) ?? []) + [snapshot]
                metadata["last-sequence-number"] = sequence
            case "set-snapshot-ref":
                guard let name = update["ref-name"] as? String, let id = (update["snapshot-id"] as? NSNumber)?.int64Value else { throw .invalid("set-snapshot-ref without a ref") }
                var refs = (metadata["refs"] as? [String: Any]) ?? [:]
                refs[name] = ["snapshot-id": id, "type": update["type"] as? String ?? "branch"]
                metadata["refs"] = refs
                if name == "main" {
                    metadata["current-snapshot-id"] = id
                    let stamp = ((metadata["snapshots"] as? [[String: Any]]) ?? []).first { ($0["snapshot-id"] as? NSNumber)?.int64Value == id }?["timestamp-ms"] ?? nowMillis
                    metadata["snapshot-log"] = ((metadata["snapshot-log"] as? [Any]) ?? []) + [["snapshot-id": id, "timestamp-ms": stamp]]
                }
            case "remove-snapshots":
                let ids = Set(((update["snapshot-ids"] as? [NSNumber]) ?? []).map(\.int64Value))
                metadata["snapshots"] = ((metadata["snapshots"] as? [[String: Any]]) ?? []).filter { !ids.contains((($0["snapshot-id"] as? NSNumber)?.int64Value ?? 0)) }
                metadata["snapshot-log"] = ((metadata["snapshot-log"] as? [[String: Any]]) ?? []).filter { !ids.contains((($0["snapshot-id"] as? NSNumber)?.int64Value ?? 0)) }
            case "add-schema":
                guard let schema = update["schema"] as? [String: Any], let id = (schema["schema-id"] as? NSNumber)?.intValue else { throw .invalid("add-schema without a schema") }
                metadata["schemas"] = ((metadata["schemas"] as? [Any]) ?? []) + [schema]
                if let last = (update["last-column-id"] as? NSNumber)?.intValue { metadata["last-column-id"] = last }
                lastAddedSchema = id
            case "set-current-schema":
                let id = (update["schema-id"] as? NSNumber)?.intValue ?? -1
                guard let resolved = id == -1 ? lastAddedSchema : id else { throw .invalid("set-current-schema -1 without an added schema") }
                metadata["current-schema-id"] = resolved
            case "set-properties":
                var properties = (metadata["properties"] as? [String: String]) ?? [:]
                for (k, v) in (update["updates"] as? [String: String]) ?? [:] { properties[k] = v }
                metadata["properties"] = properties
            case let other:
                throw .invalid("update \(other ?? "without an action") is not supported by Kyma's metadata writer")
            }
        }
        metadata["last-updated-ms"] = nowMillis
        metadata["metadata-log"] = ((metadata["metadata-log"] as? [Any]) ?? []) + [["metadata-file": table.metadataLocation, "timestamp-ms": nowMillis]]
        return metadata
    }
}
