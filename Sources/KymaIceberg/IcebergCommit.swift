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
        var lastAddedSpec: Int?
        var lastAddedOrder: Int?
        for update in updates {
            switch update["action"] as? String {
            case "add-snapshot":
                guard let snapshot = update["snapshot"] as? [String: Any], snapshot["snapshot-id"] is NSNumber else {
                    throw .invalid("add-snapshot without a snapshot")
                }
                metadata["snapshots"] = ((metadata["snapshots"] as? [Any]) ?? []) + [snapshot]
                // Format v1 snapshots have no sequence number.
                if let sequence = (snapshot["sequence-number"] as? NSNumber)?.int64Value {
                    metadata["last-sequence-number"] = max(sequence, (metadata["last-sequence-number"] as? NSNumber)?.int64Value ?? 0)
                }
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
                guard var schema = update["schema"] as? [String: Any] else { throw .invalid("add-schema without a schema") }
                let existing = ((metadata["schemas"] as? [[String: Any]]) ?? []).compactMap { ($0["schema-id"] as? NSNumber)?.intValue }
                let id = (schema["schema-id"] as? NSNumber)?.intValue ?? ((existing.max() ?? -1) + 1)
                schema["schema-id"] = id
                if !existing.contains(id) { metadata["schemas"] = ((metadata["schemas"] as? [Any]) ?? []) + [schema] }
                // last-column-id is deprecated in the request: the schema's own highest id decides.
                let last = max((update["last-column-id"] as? NSNumber)?.intValue ?? 0, IcebergRESTService.lastColumnID(schema["fields"] ?? []))
                metadata["last-column-id"] = max(last, (metadata["last-column-id"] as? NSNumber)?.intValue ?? 0)
                lastAddedSchema = id
            case "set-current-schema":
                let id = (update["schema-id"] as? NSNumber)?.intValue ?? -1
                guard let resolved = id == -1 ? lastAddedSchema : id else { throw .invalid("set-current-schema -1 without an added schema") }
                metadata["current-schema-id"] = resolved
            case "set-properties":
                var properties = (metadata["properties"] as? [String: String]) ?? [:]
                for (k, v) in (update["updates"] as? [String: String]) ?? [:] { properties[k] = v }
                metadata["properties"] = properties
            case "remove-properties":
                var properties = (metadata["properties"] as? [String: String]) ?? [:]
                for key in (update["removals"] as? [String]) ?? [] { properties[key] = nil }
                metadata["properties"] = properties
            case "assign-uuid":
                guard let uuid = update["uuid"] as? String else { throw .invalid("assign-uuid without a uuid") }
                metadata["table-uuid"] = uuid
            case "upgrade-format-version":
                guard let version = (update["format-version"] as? NSNumber)?.intValue, (1...2).contains(version),
                      version >= (metadata["format-version"] as? NSNumber)?.intValue ?? 1 else {
                    throw .invalid("upgrade-format-version to \(update["format-version"] ?? "nothing"): only upgrades to 1 or 2")
                }
                metadata["format-version"] = version
            case "set-location":
                guard let location = update["location"] as? String else { throw .invalid("set-location without a location") }
                metadata["location"] = location
            case "add-spec", "add-partition-spec":
                guard var spec = update["spec"] as? [String: Any] else { throw .invalid("add-spec without a spec") }
                let existing = ((metadata["partition-specs"] as? [[String: Any]]) ?? []).compactMap { ($0["spec-id"] as? NSNumber)?.intValue }
                let id = (spec["spec-id"] as? NSNumber)?.intValue ?? ((existing.max() ?? -1) + 1)
                spec["spec-id"] = id
                metadata["partition-specs"] = ((metadata["partition-specs"] as? [Any]) ?? []) + [spec]
                let fieldIDs = ((spec["fields"] as? [[String: Any]]) ?? []).compactMap { ($0["field-id"] as? NSNumber)?.intValue }
                metadata["last-partition-id"] = max((metadata["last-partition-id"] as? NSNumber)?.intValue ?? 999, fieldIDs.max() ?? 999)
                lastAddedSpec = id
            case "set-default-spec":
                let id = (update["spec-id"] as? NSNumber)?.intValue ?? -1
                guard let resolved = id == -1 ? lastAddedSpec : id else { throw .invalid("set-default-spec -1 without an added spec") }
                metadata["default-spec-id"] = resolved
            case "add-sort-order":
                guard var order = update["sort-order"] as? [String: Any] else { throw .invalid("add-sort-order without a sort order") }
                let existing = ((metadata["sort-orders"] as? [[String: Any]]) ?? []).compactMap { ($0["order-id"] as? NSNumber)?.intValue }
                let id = (order["order-id"] as? NSNumber)?.intValue ?? ((existing.max() ?? 0) + 1)
                order["order-id"] = id
                metadata["sort-orders"] = ((metadata["sort-orders"] as? [Any]) ?? []) + [order]
                lastAddedOrder = id
            case "set-default-sort-order":
                let id = (update["sort-order-id"] as? NSNumber)?.intValue ?? -1
                guard let resolved = id == -1 ? lastAddedOrder : id else { throw .invalid("set-default-sort-order -1 without an added order") }
                metadata["default-sort-order-id"] = resolved
            case "remove-snapshot-ref":
                guard let name = update["ref-name"] as? String else { throw .invalid("remove-snapshot-ref without a ref") }
                var refs = (metadata["refs"] as? [String: Any]) ?? [:]
                refs[name] = nil
                metadata["refs"] = refs
                if name == "main" { metadata["current-snapshot-id"] = -1 }
            case "set-statistics":
                guard let statistics = update["statistics"] as? [String: Any], let id = (statistics["snapshot-id"] as? NSNumber)?.int64Value else {
                    throw .invalid("set-statistics without statistics")
                }
                metadata["statistics"] = ((metadata["statistics"] as? [[String: Any]]) ?? []).filter { ($0["snapshot-id"] as? NSNumber)?.int64Value != id } + [statistics]
            case "remove-statistics":
                let id = (update["snapshot-id"] as? NSNumber)?.int64Value
                metadata["statistics"] = ((metadata["statistics"] as? [[String: Any]]) ?? []).filter { ($0["snapshot-id"] as? NSNumber)?.int64Value != id }
            case let other:
                throw .invalid("update \(other ?? "without an action") is not supported by Kyma's metadata writer")
            }
        }
        metadata["last-updated-ms"] = nowMillis
        metadata["metadata-log"] = ((metadata["metadata-log"] as? [Any]) ?? []) + [["metadata-file": table.metadataLocation, "timestamp-ms": nowMillis]]
        return metadata
    }
}
