extension Migrations {
    /// 11: who has proved possession of which blob, for which model (issue 21, item 1). A row
    /// is written when a principal's upload of a blob was verified (a new blob, or a stored one
    /// re-sent and hashed); it lets that principal name the blob in drafts of that model
    /// although no version they may read holds it yet. Retention counts these rows as
    /// references. Keyed by names, not ids: an upload may come before the model's first draft.
    static let blobProofs: [String] = [
        """
        CREATE TABLE blob_proofs (owner TEXT NOT NULL, name TEXT NOT NULL, principal TEXT NOT NULL, digest TEXT NOT NULL,
          created_at BIGINT NOT NULL, PRIMARY KEY (owner, name, principal, digest))
        """,
        "CREATE INDEX blob_proofs_digest ON blob_proofs (digest)",
    ]
}
