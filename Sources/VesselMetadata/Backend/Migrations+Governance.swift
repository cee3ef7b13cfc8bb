extension Migrations {
    /// 3: roles on scopes, protected aliases (production protected by default), promotion
    /// requests, and CI checks reported against version digests.
    static let governance: [String] = [
        """
        CREATE TABLE grants (principal_id TEXT NOT NULL REFERENCES principals(id), role TEXT NOT NULL, scope TEXT NOT NULL,
          created_at BIGINT NOT NULL, created_by TEXT NOT NULL, PRIMARY KEY (principal_id, role, scope))
        """,
        """
        CREATE TABLE protections (scope TEXT NOT NULL, alias TEXT NOT NULL, role TEXT NOT NULL, require_approval BIGINT NOT NULL,
          gates TEXT NOT NULL, updated_at BIGINT NOT NULL, updated_by TEXT NOT NULL, PRIMARY KEY (scope, alias))
        """,
        """
        INSERT INTO protections (scope, alias, role, require_approval, gates, updated_at, updated_by)
        VALUES ('*', 'production', 'maintainer', 0, '["scan-clean"]', 0, 'system')
        """,
        """
        CREATE TABLE promotion_requests (id TEXT PRIMARY KEY, model_id TEXT NOT NULL REFERENCES models(id), alias TEXT NOT NULL,
          version_id TEXT NOT NULL REFERENCES versions(id), status TEXT NOT NULL, requested_by TEXT NOT NULL, reason TEXT,
          expect_current BIGINT, expect_absent BIGINT NOT NULL, created_at BIGINT NOT NULL, decided_by TEXT, decided_at BIGINT,
          decision_reason TEXT)
        """,
        "CREATE INDEX promotion_requests_model ON promotion_requests (model_id, status)",
        """
        CREATE TABLE checks (id TEXT PRIMARY KEY, digest TEXT NOT NULL, model_id TEXT NOT NULL REFERENCES models(id),
          name TEXT NOT NULL, status TEXT NOT NULL, metrics TEXT NOT NULL, url TEXT, reported_by TEXT NOT NULL,
          reported_at BIGINT NOT NULL, seq BIGINT NOT NULL)
        """,
        "CREATE INDEX checks_digest ON checks (model_id, digest, name, seq)",
    ]
}
