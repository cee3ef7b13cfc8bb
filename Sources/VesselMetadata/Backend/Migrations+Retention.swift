extension Migrations {
    /// 15: retention and garbage collection (issue 26): policies per scope, holds on versions,
    /// when each blob was last named, and the lifecycle job's runs.
    ///
    /// `blob_names` is keyed by digest alone, not by `blobs`: an upload names its blob before
    /// the blob row exists. `sweep_seq` counts the sweeps begun on a digest and `sweeping` is 1
    /// between the transaction that removes the blob row and the removal of its object; an
    /// upload that saw another `sweep_seq` when it began, or finds `sweeping`, is refused and
    /// retried (docs/decisions/0022-garbage-collection.md).
    static let retention: [String] = [
        """
        CREATE TABLE retention_policies (scope TEXT PRIMARY KEY, keep_last BIGINT, keep_for BIGINT,
          delete_quarantined_after BIGINT, drafts_expire_after BIGINT, updated_at BIGINT NOT NULL, updated_by TEXT NOT NULL)
        """,
        """
        CREATE TABLE holds (version_id TEXT PRIMARY KEY REFERENCES versions(id), reason TEXT NOT NULL,
          created_at BIGINT NOT NULL, created_by TEXT NOT NULL)
        """,
        """
        CREATE TABLE blob_names (digest TEXT PRIMARY KEY, named_at BIGINT NOT NULL, sweep_seq BIGINT NOT NULL,
          sweeping BIGINT NOT NULL)
        """,
        "CREATE INDEX blob_names_named_at ON blob_names (named_at)",
        "INSERT INTO blob_names (digest, named_at, sweep_seq, sweeping) SELECT digest, created_at, 0, 0 FROM blobs",
        """
        CREATE TABLE gc_runs (id TEXT PRIMARY KEY, started_at BIGINT NOT NULL, duration_ms BIGINT NOT NULL, dry_run BIGINT NOT NULL,
          versions BIGINT NOT NULL, drafts BIGINT NOT NULL, blobs BIGINT NOT NULL, bytes BIGINT NOT NULL, holder TEXT NOT NULL)
        """,
        "CREATE INDEX gc_runs_started ON gc_runs (started_at)",
        "CREATE INDEX versions_state ON versions (state, model_id)",
    ]
}
