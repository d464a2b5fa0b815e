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
        _ = try await commit(identifier, nowMillis: nowMillis) { table throws(IcebergError) -> TableChange? in
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
            report.files = []
            guard !expiredIDs.isEmpty else { return nil }
            let retained = snapshots.filter { !expiredIDs.contains((($0["snapshot-id"] as? NSNumber)?.int64Value ?? 0)) }
            let live = try await reachable(retained)
            report.files = try await reachable(expired).subtracting(live).sorted()
            if dryRun { return nil }
            return TableChange(requirements: [["type": "assert-table-uuid", "uuid": table.tableUUID]],
                               updates: [["action": "remove-snapshots", "snapshot-ids": report.expiredSnapshots]])
        }
        // Only after the metadata that stopped referencing them is committed.
        if !dryRun { for file in report.files { if let key = try? key(file) { try? await store.delete(key) } } }
        return report
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
                files.insert(manifest.path)
                guard seenManifests.insert(manifest.path).inserted else { continue }
                // DELETED entries still name files an older snapshot may reach; the retained
                // snapshots' own entries decide what stays.
                for entry in try Manifests.entries(try await get(manifest.path)) where entry.status != ManifestEntry.deleted {
                    files.insert(entry.file.path)
                }
            }
        }
        return files
    }
}
