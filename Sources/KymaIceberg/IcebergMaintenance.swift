// Table maintenance: snapshot expiration and orphan-file cleanup, each with a dry run that lists
// what it would do. Files are deleted only after the metadata that stopped referencing them is
// committed, and orphan cleanup never touches a file younger than its threshold (a concurrent
// writer may be about to commit it).

import Foundation
import KymaCatalog
import KymaObjectStore

public struct IcebergMaintenanceReport: Sendable, Hashable {
    public var expiredSnapshots: [Int64] = []
    /// Files no longer referenced (deleted unless a dry run).
    public var files: [String] = []
    public var dryRun: Bool

    public init(dryRun: Bool) { self.dryRun = dryRun }
}

extension IcebergTables {
    /// Removes snapshots older than `olderThanMillis` beyond the newest `keepLast` (the current
    /// snapshot always stays), commits the metadata, then deletes the manifest lists, manifests
    /// and data files only the expired snapshots reached.
    public func expireSnapshots(_ identifier: IcebergTableIdentifier, olderThanMillis: Int64, keepLast: Int, nowMillis: Int64,
                                dryRun: Bool) async throws(IcebergError) -> IcebergMaintenanceReport {
        var report = IcebergMaintenanceReport(dryRun: dryRun)
        for _ in 0..<10 {
            let table = try await load(identifier)
            let snapshots = table.snapshots.sorted { (($0["timestamp-ms"] as? NSNumber)?.int64Value ?? 0) < (($1["timestamp-ms"] as? NSNumber)?.int64Value ?? 0) }
            let current = table.currentSnapshotID
            let keep = Set(snapshots.suffix(max(1, keepLast)).compactMap { ($0["snapshot-id"] as? NSNumber)?.int64Value })
            let expired = snapshots.filter { s in
                let id = (s["snapshot-id"] as? NSNumber)?.int64Value ?? 0
                let time = (s["timestamp-ms"] as? NSNumber)?.int64Value ?? 0
                return id != current && !keep.contains(id) && time < olderThanMillis
            }
            let expiredIDs = Set(expired.compactMap { ($0["snapshot-id"] as? NSNumber)?.int64Value })
            report.expiredSnapshots = expiredIDs.sorted()
            guard !expiredIDs.isEmpty else { return report }
            let retained = snapshots.filter { !expiredIDs.contains((($0["snapshot-id"] as? NSNumber)?.int64Value ?? 0)) }
            let live = try await reachable(retained)
            let dead = try await reachable(expired)
            report.files = dead.subtracting(live).sorted()
            if dryRun { return report }
            var metadata = table.metadata
            metadata["snapshots"] = retained
            metadata["snapshot-log"] = ((metadata["snapshot-log"] as? [[String: Any]]) ?? []).filter { !expiredIDs.contains((($0["snapshot-id"] as? NSNumber)?.int64Value ?? 0)) }
            metadata["last-updated-ms"] = nowMillis
            metadata["metadata-log"] = ((metadata["metadata-log"] as? [Any]) ?? []) + [["metadata-file": table.metadataLocation, "timestamp-ms": nowMillis]]
            let version = ((table.metadata["metadata-log"] as? [Any])?.count ?? 0) + 1
            let uri = table.location + "/metadata/\(String(format: "%05d", version))-\(UUID().uuidString.lowercased()).metadata.json"
            try await put(uri, try Self.json(metadata))
            do {
                try await catalog.commitTable(identifier, expected: table.metadataLocation, newLocation: uri)
            } catch .conflict {
                continue  // another commit landed: recompute on the new base
            } catch {
                throw .catalog(error.description)
            }
            for file in report.files { if let key = try? key(file) { try? await store.delete(key) } }
            return report
        }
        throw .conflict("gave up expiring snapshots after 10 concurrent commits on \(identifier)")
    }

    /// Deletes files under the table's location that no retained snapshot or metadata file
    /// references and that are older than `olderThanMillis` (by the store's modification time).
    public func cleanupOrphans(_ identifier: IcebergTableIdentifier, olderThanMillis: Int64, dryRun: Bool) async throws(IcebergError) -> IcebergMaintenanceReport {
        var report = IcebergMaintenanceReport(dryRun: dryRun)
        let table = try await load(identifier)
        var live = try await reachable(table.snapshots)
        live.insert(table.metadataLocation)
        for entry in (table.metadata["metadata-log"] as? [[String: Any]]) ?? [] {
            if let file = entry["metadata-file"] as? String { live.insert(file) }
        }
        guard table.location.hasPrefix(storeURI) else { throw .invalid("table location \(table.location) is outside the object store") }
        let prefix = String(table.location.dropFirst(storeURI.count)) + "/"
        let objects: [ObjectMetadata]
        do { objects = try await store.listAll(prefix: prefix) } catch { throw .store("listing \(prefix): \(error)") }
        for object in objects {
            let uri = storeURI + object.key.rawValue
            guard !live.contains(uri), let modified = object.lastModifiedMillis, modified < olderThanMillis else { continue }
            report.files.append(uri)
        }
        report.files.sort()
        if !dryRun { for file in report.files { if let key = try? key(file) { try? await store.delete(key) } } }
        return report
    }

    /// Every manifest list, manifest and data file the snapshots reach.
    func reachable(_ snapshots: [[String: Any]]) async throws(IcebergError) -> Set<String> {
        var files = Set<String>()
        var seenManifests = Set<String>()
        for snapshot in snapshots {
            guard let list = snapshot["manifest-list"] as? String else { continue }
            files.insert(list)
            for manifest in try Manifests.readList(try await get(list)) {
                guard case .record(let fields) = manifest, case .string(let manifestURI) = fields[0] else { continue }
                files.insert(manifestURI)
                guard seenManifests.insert(manifestURI).inserted else { continue }
                for path in try Manifests.dataFiles(try await get(manifestURI)) { files.insert(path) }
            }
        }
        return files
    }
}
