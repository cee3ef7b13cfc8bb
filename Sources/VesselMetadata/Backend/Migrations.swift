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
    static let steps: [[String]] = [
        // 1: the spine
        [
            "CREATE TABLE principals (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, created_at BIGINT NOT NULL)",
            """
            CREATE TABLE tokens (id TEXT PRIMARY KEY, principal_id TEXT NOT NULL REFERENCES principals(id),
              name TEXT, hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL, expires_at BIGINT, revoked_at BIGINT)
            """,
            """
            CREATE TABLE models (id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL,
              description TEXT NOT NULL, tags TEXT NOT NULL, created_at BIGINT NOT NULL, created_by TEXT NOT NULL,
              version_seq BIGINT NOT NULL, UNIQUE (owner, name))
            """,
            "CREATE TABLE blobs (digest TEXT PRIMARY KEY, size BIGINT NOT NULL, created_at BIGINT NOT NULL)",
            """
            CREATE TABLE versions (id TEXT PRIMARY KEY, model_id TEXT NOT NULL REFERENCES models(id), number BIGINT,
              state TEXT NOT NULL, digest TEXT NOT NULL, file_count BIGINT NOT NULL, total_size BIGINT NOT NULL,
              description TEXT NOT NULL, findings TEXT NOT NULL, created_at BIGINT NOT NULL, created_by TEXT NOT NULL,
              committed_at BIGINT, UNIQUE (model_id, number))
            """,
            """
            CREATE TABLE version_files (version_id TEXT NOT NULL REFERENCES versions(id), path TEXT NOT NULL,
              size BIGINT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL, PRIMARY KEY (version_id, path))
            """,
            "CREATE INDEX version_files_digest ON version_files (digest)",
            """
            CREATE TABLE aliases (model_id TEXT NOT NULL REFERENCES models(id), name TEXT NOT NULL,
              version_id TEXT NOT NULL REFERENCES versions(id), updated_at BIGINT NOT NULL, updated_by TEXT NOT NULL,
              PRIMARY KEY (model_id, name))
            """,
            """
            CREATE TABLE audit_log (seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
              target TEXT NOT NULL, model TEXT, before_value TEXT, after_value TEXT, request_id TEXT,
              prev_hash TEXT NOT NULL, hash TEXT NOT NULL)
            """,
            "CREATE INDEX audit_log_model ON audit_log (model, seq)",
            "CREATE TABLE audit_head (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL)",
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '\(AuditChain.genesisHash)')",
            """
            CREATE TABLE events (seq BIGINT PRIMARY KEY, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, at BIGINT NOT NULL,
              model TEXT, payload TEXT NOT NULL)
            """,
            "CREATE TABLE event_head (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL)",
            "INSERT INTO event_head (id, seq) VALUES (1, 0)",
        ],
    ]

    /// The schema version this binary writes.
    public static var latest: Int { steps.count }

    /// Applies missing migrations under the backend's migration lock.
    /// - Throws: `VesselError(.schemaTooNew)` when the database is newer than this binary.
    public static func run(on backend: any SQLBackend, logger: Logger) async throws {
        try await backend.withMigrationLock { db in
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
}
