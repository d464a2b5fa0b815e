// Nodes (registration, heartbeats, liveness) and work units (leased with SKIP LOCKED).

import KymaCatalog

extension PostgresCatalog {
    // MARK: - Nodes

    public func registerNode(_ node: NodeIdentity) async throws(CatalogError) {
        try await withConnection(operation: "register node", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                INSERT INTO nodes (id, role, address, leaf_address, started_at, last_heartbeat) VALUES ($1, $2, $3, $4, now(), now())
                ON CONFLICT (id) DO UPDATE SET role = excluded.role, address = excluded.address,
                    leaf_address = excluded.leaf_address, started_at = now(), last_heartbeat = now()
                """, [node.id, node.role.rawValue, node.address, node.leafAddress], operation: "register node")
        }
    }

    public func heartbeat(nodeID: String) async throws(CatalogError) {
        let rows = try await withConnection(operation: "heartbeat", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("UPDATE nodes SET last_heartbeat = now() WHERE id = $1", [nodeID], operation: "heartbeat")
        }
        if rows.affectedRows == 0 { throw .invalidArgument("node '\(nodeID)' is not registered") }
    }

    public func unregisterNode(id: String) async throws(CatalogError) {
        _ = try await withConnection(operation: "unregister node", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("DELETE FROM nodes WHERE id = $1", [id], operation: "unregister node")
        }
    }

    public func nodes(timeoutSeconds: Int) async throws(CatalogError) -> [NodeStatus] {
        let rows = try await withConnection(operation: "list nodes", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                SELECT id, role, address, leaf_address, (extract(epoch from started_at) * 1000)::bigint AS started_ms,
                       (extract(epoch from last_heartbeat) * 1000)::bigint AS heartbeat_ms,
                       last_heartbeat >= now() - make_interval(secs => $1) AS alive
                FROM nodes ORDER BY id
                """, [String(timeoutSeconds)], operation: "list nodes")
        }
        return rows.rows.indices.map { index in
            NodeStatus(
                identity: NodeIdentity(id: rows.value(index, "id") ?? "", role: NodeIdentity.Role(rawValue: rows.value(index, "role") ?? "") ?? .cli,
                                       address: rows.value(index, "address") ?? "", leafAddress: rows.value(index, "leaf_address")),
                startedAtMillis: Int64(rows.value(index, "started_ms") ?? "") ?? 0,
                lastHeartbeatMillis: Int64(rows.value(index, "heartbeat_ms") ?? "") ?? 0,
                isAlive: rows.value(index, "alive") == "t")
        }
    }

    // MARK: - Work units

    public func enqueueWork(kind: String, payload: String, deduplicationKey: String?) async throws(CatalogError) -> WorkUnitID {
        if let key = deduplicationKey, key.utf8.count > Self.maxDeduplicationKeyBytes {
            throw .invalidArgument("work unit key is \(key.utf8.count) bytes long; the limit is \(Self.maxDeduplicationKeyBytes) (hash long keys)")
        }
        let rows = try await withConnection(operation: "enqueue work") { connection throws(CatalogError) in
            try connection.execute("""
                WITH inserted AS (
                    INSERT INTO work_units (kind, payload, dedup_key) VALUES ($1, $2::jsonb, $3)
                    ON CONFLICT (dedup_key) DO NOTHING RETURNING id)
                SELECT id FROM inserted UNION ALL SELECT id FROM work_units WHERE dedup_key = $3 LIMIT 1
                """, [kind, payload, deduplicationKey], operation: "enqueue work")
        }
        guard let id = rows.value(0, "id").flatMap({ Int64($0) }) else {
            throw .query(operation: "enqueue work", reason: "no id returned")
        }
        return id
    }

    /// Keys are unique in a btree index, whose entries PostgreSQL caps at about 2.7 kB.
    public static let maxDeduplicationKeyBytes = 256

    /// Claims the oldest claimable unit of the given kinds: pending, or running with an expired
    /// lease. `FOR UPDATE SKIP LOCKED` lets concurrent claimers pass over each other's rows, so
    /// no unit is handed to two workers.
    public func claimWork(kinds: [String], owner: String, leaseSeconds: Int) async throws(CatalogError) -> WorkUnit? {
        let rows = try await withConnection(operation: "claim work") { connection throws(CatalogError) in
            try connection.execute("""
                UPDATE work_units SET state = 'running', attempts = attempts + 1, lease_owner = $2,
                       lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
                WHERE id = (
                    SELECT id FROM work_units
                    WHERE kind = ANY($1::text[]) AND state IN ('pending', 'running')
                      AND (state = 'pending' OR lease_expires_at < now()) AND attempts < max_attempts
                      AND (not_before IS NULL OR not_before <= now())
                    ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
                RETURNING \(Self.workColumns)
                """, [SQLText.textArray(kinds), owner, String(leaseSeconds)], operation: "claim work")
        }
        return Self.workUnits(from: rows).first
    }

    public func renewLease(_ id: WorkUnitID, owner: String, leaseSeconds: Int) async throws(CatalogError) {
        let rows = try await withConnection(operation: "renew lease") { connection throws(CatalogError) in
            try connection.execute("""
                UPDATE work_units SET lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
                WHERE id = $1 AND lease_owner = $2 AND state = 'running'
                """, [String(id), owner, String(leaseSeconds)], operation: "renew lease")
        }
        if rows.affectedRows == 0 { throw .conflict("work unit \(id) is not leased to '\(owner)'") }
    }

    public func completeWork(_ id: WorkUnitID, owner: String, result: String) async throws(CatalogError) {
        let rows = try await withConnection(operation: "complete work") { connection throws(CatalogError) in
            try connection.execute("""
                UPDATE work_units SET state = 'done', result = $3::jsonb, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
                WHERE id = $1 AND lease_owner = $2 AND state = 'running'
                """, [String(id), owner, result], operation: "complete work")
        }
        if rows.affectedRows == 0 { throw .conflict("work unit \(id) is not leased to '\(owner)'") }
    }

    public func failWork(_ id: WorkUnitID, owner: String, error: String) async throws(CatalogError) {
        let rows = try await withConnection(operation: "fail work") { connection throws(CatalogError) in
            try connection.execute("""
                UPDATE work_units SET state = CASE WHEN attempts < max_attempts THEN 'pending' ELSE 'failed' END,
                       last_error = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = now(),
                       not_before = now() + make_interval(secs => least(power(2, attempts), 300))
                WHERE id = $1 AND lease_owner = $2 AND state = 'running'
                """, [String(id), owner, error], operation: "fail work")
        }
        if rows.affectedRows == 0 { throw .conflict("work unit \(id) is not leased to '\(owner)'") }
    }

    public func workUnits(kind: String, payload: [String: String], limit: Int) async throws(CatalogError) -> [WorkUnit] {
        let filter = try JSONCoding.encode(payload)
        let rows = try await withConnection(operation: "list work units", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("SELECT \(Self.workColumns) FROM work_units WHERE kind = $1 AND payload @> $2::jsonb ORDER BY id DESC LIMIT $3",
                                   [kind, filter, String(max(0, limit))], operation: "list work units")
        }
        return Self.workUnits(from: rows)
    }

    /// Inserts `work` inside the caller's transaction; units whose key exists are skipped.
    static func enqueue(_ work: [WorkRequest], _ connection: PostgresConnection, operation: String) throws(CatalogError) {
        for request in work {
            if let key = request.deduplicationKey, key.utf8.count > maxDeduplicationKeyBytes {
                throw .invalidArgument("work unit key is \(key.utf8.count) bytes long; the limit is \(maxDeduplicationKeyBytes) (hash long keys)")
            }
            try connection.execute("INSERT INTO work_units (kind, payload, dedup_key) VALUES ($1, $2::jsonb, $3) ON CONFLICT (dedup_key) DO NOTHING",
                                   [request.kind, request.payload, request.deduplicationKey], operation: operation)
        }
    }

    public func workUnit(_ id: WorkUnitID) async throws(CatalogError) -> WorkUnit? {
        let rows = try await withConnection(operation: "read work unit", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("SELECT \(Self.workColumns) FROM work_units WHERE id = $1", [String(id)])
        }
        return Self.workUnits(from: rows).first
    }

    static let workColumns = """
        id, kind, payload::text AS payload, state, attempts, lease_owner,
        (extract(epoch from lease_expires_at) * 1000)::bigint AS lease_ms, result::text AS result, last_error
        """

    static func workUnits(from rows: PostgresRows) -> [WorkUnit] {
        rows.rows.indices.map { index in
            WorkUnit(
                id: Int64(rows.value(index, "id") ?? "") ?? 0, kind: rows.value(index, "kind") ?? "",
                payload: rows.value(index, "payload") ?? "{}",
                state: WorkUnit.State(rawValue: rows.value(index, "state") ?? "") ?? .pending,
                attempts: Int(rows.value(index, "attempts") ?? "") ?? 0, leaseOwner: rows.value(index, "lease_owner"),
                leaseExpiresAtMillis: rows.value(index, "lease_ms").flatMap { Int64($0) }, result: rows.value(index, "result"),
                lastError: rows.value(index, "last_error"))
        }
    }
}
