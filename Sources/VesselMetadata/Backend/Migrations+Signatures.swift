extension Migrations {
    /// 5: trusted public keys and version signatures (the raw model-signing bundles).
    static let signatures: [String] = [
        """
        CREATE TABLE trusted_keys (name TEXT PRIMARY KEY, hint TEXT NOT NULL UNIQUE, curve TEXT NOT NULL,
          public_key TEXT NOT NULL, created_at BIGINT NOT NULL, created_by TEXT NOT NULL)
        """,
        """
        CREATE TABLE signatures (id TEXT PRIMARY KEY, version_id TEXT NOT NULL REFERENCES versions(id),
          key_hint TEXT NOT NULL, status TEXT NOT NULL, key_name TEXT, bundle TEXT NOT NULL,
          signed_at BIGINT NOT NULL, signed_by TEXT NOT NULL)
        """,
        "CREATE INDEX signatures_version ON signatures (version_id, signed_at)",
    ]
}
