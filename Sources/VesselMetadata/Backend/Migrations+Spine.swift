extension Migrations {
    /// 1: principals, tokens, models, blobs, versions, aliases, audit chain, outbox.
    static let spine: [String] = [
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
          target TEXT NOT NULL, model TEXT, before_value TEXT, after_value TEXT, request_id TEXT, reason TEXT,
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
    ]
}
