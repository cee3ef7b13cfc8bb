import Logging
import SQLKit
import VesselCore

/// The schema, as an ordered list of migrations. Every statement is plain SQL that SQLite and
/// PostgreSQL both accept: `TEXT`, `BIGINT`, no autoincrement, no booleans, no JSON columns
/// (JSON is stored as `TEXT`), times as microseconds since the epoch.
///
/// `vessel_schema` holds the applied version. A database whose version is newer than
/// `Migrations.latest` was written by a newer Vessel and is refused.
public enum Migrations {
    /// Every migration in order; each lives in its own `Migrations+Name.swift`. Never edit a
    /// released step: add a new one.
    static let steps: [[String]] = [spine, analysis, governance, uploads, signatures, webhooks, webhookCursors, pendingDeliveryIndexes, secrets, manifestDigests, blobProofs, deployments, nodes, certificateSubjects, retention, search, lineage, sessions, peers, nodeEnvironments, auditActor, originLeases]

    /// Work a step needs that SQL cannot do on both databases, run after that step's
    /// statements in its transaction, by step number; it runs exactly once, like the step.
    typealias Backfill = @Sendable (any SQLDatabase) async throws -> Void
    static let backfills: [Int: Backfill] = [10: backfillManifestDigests, 16: backfillModelTags]

    /// The schema version this binary writes.
    public static var latest: Int { steps.count }

    /// Applies missing migrations under the backend's migration lock.
    /// - Throws: `VesselError(.schemaTooNew)` when the database is newer than this binary.
    public static func run(on backend: any SQLBackend, logger: Logger) async throws {
        try await backend.withMigrationLock { db in try await apply(steps, to: db, logger: logger, backfills: backfills) }
    }

    /// Applies the missing steps of `steps` to `db`, each in its own transaction.
    static func apply(_ steps: [[String]], to db: any SQLDatabase, logger: Logger, backfills: [Int: Backfill] = [:]) async throws {
        let latest = steps.count
        try await db.raw("CREATE TABLE IF NOT EXISTS vessel_schema (id BIGINT PRIMARY KEY, version BIGINT NOT NULL)").run()
        let current = try await db.raw("SELECT version FROM vessel_schema WHERE id = 1").first()
            .map { try $0.decode(column: "version", as: Int.self) } ?? 0
        guard current <= latest else {
            throw VesselError(
                .schemaTooNew,
                "the metadata database has schema version \(current), but this Vessel only knows up to \(latest); run a newer Vessel (or restore a backup made for this version)"
            )
        }
        for version in (current + 1)..<(latest + 1) where current < latest {
            logger.info("applying metadata migration", metadata: ["version": "\(version)"])
            try await db.raw("BEGIN").run()
            do {
                for statement in steps[version - 1] { try await db.raw(SQLQueryString(statement)).run() }
                if let backfill = backfills[version] { try await backfill(db) }
                if current == 0 && version == 1 {
                    try await db.raw("INSERT INTO vessel_schema (id, version) VALUES (1, 1)").run()
                } else {
                    try await db.raw("UPDATE vessel_schema SET version = \(bind: version) WHERE id = 1").run()
                }
                try await db.raw("COMMIT").run()
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
    }
}
