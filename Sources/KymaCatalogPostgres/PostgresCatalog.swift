// KymaCatalogPostgres: the `Catalog` on PostgreSQL over libpq, the only catalog Kyma has.
// It owns the schema migrations (Migrations/NNNN_name.sql), a small connection pool, and the
// SQL of every catalog operation; no other module imports libpq.

import Foundation
import Synchronization
import CPostgres
import KymaCore
import KymaCatalog

/// The PostgreSQL catalog. Connections are pooled; each call checks one out, runs on a
/// blocking-I/O thread, and returns it. A connection found broken is replaced before use; a
/// connection that breaks during a call is dropped and the call fails with `connectionLost`
/// (its outcome unknown), so non-idempotent work is never silently repeated.
public final class PostgresCatalog: Catalog {
    public let url: String
    public let description: String
    private let idle = Mutex<[PostgresConnection]>([])
    /// Decoded column statistics by extent id: an extent's statistics are written once with it
    /// and never change, so a warm process decodes each once (a cache, never the master; bounded).
    let statisticsCache = Mutex<[String: [String: ColumnStatistics]]>([:])
    static let statisticsCacheLimit = 100_000
    private let maxIdle: Int
    /// The `catalog_name` of Iceberg tables in the SQL catalog (pyiceberg's catalog name).
    public let icebergCatalogName: String
    /// The longest any catalog statement may take before it is cancelled in PostgreSQL and the
    /// call fails with `.timeout` (connecting has libpq's connect_timeout, 10 s by default).
    public let statementTimeoutSeconds: Double

    /// Connects once (so a bad URL fails here, naming the URL) and applies pending migrations
    /// when `migrate` is true.
    public init(url: String, maxIdleConnections: Int = 8, migrate: Bool = true, icebergCatalogName: String = "kyma",
                statementTimeoutSeconds: Double = 60) async throws(CatalogError) {
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
            throw .invalidArgument("catalog URL must start with postgres://, got '\(Self.redact(url))'")
        }
        self.url = url
        self.description = Self.redact(url)
        self.maxIdle = maxIdleConnections
        self.icebergCatalogName = icebergCatalogName
        self.statementTimeoutSeconds = statementTimeoutSeconds
        if migrate {
            _ = try await self.migrate()
        } else {
            try await withConnection(operation: "connect") { _ throws(CatalogError) in }
        }
    }

    /// The URL without its password.
    public static func redact(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://"), let at = url[schemeEnd.upperBound...].firstIndex(of: "@") else { return url }
        let userInfo = url[schemeEnd.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":REDACTED" + String(url[at...])
    }

    // MARK: - Connections

    /// Runs `body` on a pooled connection. A broken pooled connection is replaced before use.
    /// When the connection breaks during the call (the server restarted, a backend was killed),
    /// an `idempotent` call is run once more on a new connection; any other call throws
    /// `connectionLost`, because whether it took effect is unknown.
    @discardableResult
    func withConnection<T: Sendable>(
        operation: String, idempotent: Bool = false, _ body: @escaping @Sendable (PostgresConnection) throws(CatalogError) -> T
    ) async throws(CatalogError) -> T {
        do {
            return try await runOnce(body)
        } catch .connectionLost where idempotent {
            idle.withLock { $0.removeAll() }  // the others are likely broken too
            return try await runOnce(body)
        }
    }

    private func runOnce<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws(CatalogError) -> T
    ) async throws(CatalogError) -> T {
        let url = self.url, redacted = self.description, timeout = statementTimeoutSeconds
        var reusable: PostgresConnection? = nil
        while reusable == nil, let pooled = idle.withLock({ $0.popLast() }) {
            if pooled.isUsable { reusable = pooled }  // a dead one is dropped (closed when released)
        }
        let connection: PostgresConnection
        if let reusable {
            connection = reusable
        } else {
            connection = try await Self.offload { () throws(CatalogError) in
                try PostgresConnection(url: url, redactedURL: redacted, statementTimeout: timeout)
            }
        }
        if Task.isCancelled { release(connection); throw .cancelled(operation: "catalog call") }
        do {
            // A cancelled caller cancels the statement in PostgreSQL, not only its own wait.
            let value = try await withTaskCancellationHandler {
                try await Self.offload { () throws(CatalogError) in try body(connection) }
            } onCancel: {
                connection.requestCancel()
            }
            release(connection)
            return value
        } catch {
            if connection.isHealthy { release(connection) }
            throw (error as? CatalogError) ?? .query(operation: "catalog call", reason: "\(error)")
        }
    }

    private func release(_ connection: PostgresConnection) {
        idle.withLock { pool in
            if pool.count < maxIdle { pool.append(connection) }
        }
    }

    private static func offload<T: Sendable>(_ body: @escaping @Sendable () throws(CatalogError) -> T) async throws(CatalogError) -> T {
        do {
            return try await BlockingIO.run { try body() }
        } catch let error as CatalogError {
            throw error
        } catch {
            throw .query(operation: "offload", reason: "\(error)")
        }
    }

    // MARK: - Migrations

    /// The migrations this binary knows, in order.
    public static func bundledMigrations() throws(CatalogError) -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "Migrations", withExtension: nil),
              let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else {
            throw .migration(version: 0, reason: "migration files are missing from the bundle")
        }
        var migrations: [Migration] = []
        for name in names.sorted() where name.hasSuffix(".sql") {
            guard let version = Int(name.prefix { $0.isNumber }), version > 0 else {
                throw .migration(version: 0, reason: "migration file '\(name)' does not start with its number")
            }
            guard let sql = try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8) else {
                throw .migration(version: version, reason: "cannot read '\(name)'")
            }
            migrations.append(Migration(version: version, name: String(name.dropLast(4)), sql: sql))
        }
        for (index, migration) in migrations.enumerated() where migration.version != index + 1 {
            throw .migration(version: migration.version, reason: "migrations must be numbered 1, 2, 3... without gaps")
        }
        return migrations
    }

    /// Applies every pending migration, each in its own transaction, serialised across
    /// processes by an advisory lock. Returns the versions applied. Throws `schemaTooNew` when
    /// the database is ahead of this binary.
    @discardableResult
    public func migrate() async throws(CatalogError) -> [Int] {
        let migrations = try Self.bundledMigrations()
        return try await withConnection(operation: "migrate") { connection throws(CatalogError) in
            try Self.migrate(connection, migrations)
        }
    }

    static func migrate(_ connection: PostgresConnection, _ migrations: [Migration]) throws(CatalogError) -> [Int] {
        let known = migrations.last?.version ?? 0
        var applied: [Int] = []
        try connection.transaction { () throws(CatalogError) in
            try connection.execute("SELECT pg_advisory_xact_lock(7355608)", operation: "migration lock")
            try connection.execute("""
                CREATE TABLE IF NOT EXISTS kyma_migrations (
                    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, operation: "create migrations table")
            let current = try connection.execute("SELECT coalesce(max(version), 0) AS v FROM kyma_migrations").value(0, "v").flatMap { Int($0) } ?? 0
            if current > known { throw .schemaTooNew(found: current, known: known) }
            for migration in migrations where migration.version > current {
                do {
                    try connection.execute(migration.sql, operation: "migration \(migration.version)")
                    try connection.execute("INSERT INTO kyma_migrations (version, name) VALUES ($1, $2)",
                                           [String(migration.version), migration.name])
                } catch {
                    throw .migration(version: migration.version, reason: "\(error)")
                }
                applied.append(migration.version)
            }
        }
        return applied
    }

    /// The schema version recorded in the database.
    public func schemaVersion() async throws(CatalogError) -> Int {
        try await withConnection(operation: "schema version", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("SELECT coalesce(max(version), 0) AS v FROM kyma_migrations").value(0, "v").flatMap { Int($0) } ?? 0
        }
    }

    /// Runs `EXPLAIN` on the SQL `extents(table:matching:)` would run: the proof, in tests, that
    /// catalog pruning uses the indexes.
    public func explainExtentsQuery(table: String, matching filter: ExtentFilter) async throws(CatalogError) -> String {
        let (sql, parameters) = Self.extentsQuery(table: table, filter: filter)
        return try await withConnection(operation: "explain", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("EXPLAIN " + sql, parameters).rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
        }
    }

    /// Runs arbitrary SQL; for tests and maintenance tools only.
    public func executeForTesting(_ sql: String) async throws(CatalogError) -> [[String?]] {
        try await withConnection(operation: "sql") { connection throws(CatalogError) in try connection.execute(sql).rows }
    }
}

/// One numbered schema migration.
public struct Migration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var sql: String
}
