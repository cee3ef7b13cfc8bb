extension Migrations {
    /// 4: resumable upload sessions (their chunks live in the blob store, see
    /// `ChunkedUploadStore`) and the leases that let one replica at a time run a background job.
    static let uploads: [String] = [
        """
        CREATE TABLE upload_sessions (id TEXT PRIMARY KEY, model TEXT NOT NULL, digest TEXT NOT NULL,
          size BIGINT NOT NULL, chunk_size BIGINT NOT NULL, created_by TEXT NOT NULL,
          created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)
        """,
        "CREATE INDEX upload_sessions_owner ON upload_sessions (model, digest, created_by)",
        "CREATE INDEX upload_sessions_expiry ON upload_sessions (expires_at)",
        "CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL)",
        "CREATE INDEX events_at ON events (at)",
    ]
}
