extension Migrations {
    /// 17: lineage (issue 25): datasets and their immutable revisions (sharing the model
    /// namespace: a name is a model or a dataset, checked on both inserts), what a revision was
    /// derived from, training runs with the dataset revisions they read, and each version's run
    /// and environment (requirements as sent and parsed, image by digest).
    ///
    /// The reverse indexes (`dataset_sources_source`, `run_datasets_revision`,
    /// `version_lineage_run`) serve `lineage --down`, which walks from data to what used it.
    static let lineage: [String] = [
        """
        CREATE TABLE datasets (id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, created_at BIGINT NOT NULL,
          created_by TEXT NOT NULL, revision_seq BIGINT NOT NULL, UNIQUE (owner, name))
        """,
        """
        CREATE TABLE dataset_revisions (id TEXT PRIMARY KEY, dataset_id TEXT NOT NULL REFERENCES datasets(id), number BIGINT NOT NULL,
          uri TEXT NOT NULL, digest TEXT, size BIGINT, description TEXT NOT NULL, created_at BIGINT NOT NULL, created_by TEXT NOT NULL,
          UNIQUE (dataset_id, number))
        """,
        """
        CREATE TABLE dataset_sources (revision_id TEXT NOT NULL REFERENCES dataset_revisions(id),
          source_id TEXT NOT NULL REFERENCES dataset_revisions(id), PRIMARY KEY (revision_id, source_id))
        """,
        "CREATE INDEX dataset_sources_source ON dataset_sources (source_id)",
        """
        CREATE TABLE runs (id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT, git_repo TEXT, git_commit TEXT, config_name TEXT,
          config_digest TEXT, config TEXT, params TEXT NOT NULL, metrics TEXT NOT NULL, image TEXT, requirements_file TEXT,
          requirements_text TEXT, requirements TEXT, created_at BIGINT NOT NULL, created_by TEXT NOT NULL)
        """,
        "CREATE INDEX runs_owner ON runs (owner, created_at)",
        """
        CREATE TABLE run_datasets (run_id TEXT NOT NULL REFERENCES runs(id), revision_id TEXT NOT NULL REFERENCES dataset_revisions(id),
          PRIMARY KEY (run_id, revision_id))
        """,
        "CREATE INDEX run_datasets_revision ON run_datasets (revision_id)",
        """
        CREATE TABLE version_lineage (version_id TEXT PRIMARY KEY REFERENCES versions(id), run_id TEXT REFERENCES runs(id), image TEXT,
          requirements_file TEXT, requirements_text TEXT, requirements TEXT)
        """,
        "CREATE INDEX version_lineage_run ON version_lineage (run_id)",
    ]
}
