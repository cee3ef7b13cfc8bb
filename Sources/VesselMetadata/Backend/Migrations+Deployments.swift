extension Migrations {
    /// 12: deployments (issue 23). `deployments` holds each (model, environment)'s current state:
    /// the version each pool holds, the live pool, the candidate's weight and step, the plan
    /// (JSON) and the candidate's report totals since its step began. `deployment_history` keeps
    /// one row per change (revision), with the state it began and when it ended, so "which
    /// versions served in E, from when to when" reads one model's environment in time order
    /// from `deployment_history_time`. A promotion request that starts a rollout keeps the
    /// rollout's parameters in `promotion_requests.deployment` (JSON; null for alias requests).
    static let deployments: [String] = [
        """
        CREATE TABLE deployments (model_id TEXT NOT NULL REFERENCES models(id), env TEXT NOT NULL, revision BIGINT NOT NULL,
          status TEXT NOT NULL, live TEXT NOT NULL, blue_version_id TEXT REFERENCES versions(id), green_version_id TEXT REFERENCES versions(id),
          candidate_weight BIGINT NOT NULL, step BIGINT NOT NULL, plan TEXT NOT NULL,
          window_requests BIGINT NOT NULL, window_errors BIGINT NOT NULL, window_p99_us BIGINT,
          created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, updated_by TEXT NOT NULL, PRIMARY KEY (model_id, env))
        """,
        "CREATE INDEX deployments_env ON deployments (env)",
        "CREATE INDEX deployments_blue ON deployments (blue_version_id)",
        "CREATE INDEX deployments_green ON deployments (green_version_id)",
        """
        CREATE TABLE deployment_history (model_id TEXT NOT NULL REFERENCES models(id), env TEXT NOT NULL, revision BIGINT NOT NULL,
          action TEXT NOT NULL, at BIGINT NOT NULL, ended_at BIGINT, actor TEXT NOT NULL, request_id TEXT, reason TEXT, automatic BIGINT NOT NULL,
          status TEXT NOT NULL, live TEXT NOT NULL, blue_version_id TEXT REFERENCES versions(id), green_version_id TEXT REFERENCES versions(id),
          candidate_weight BIGINT NOT NULL, step BIGINT NOT NULL, PRIMARY KEY (model_id, env, revision))
        """,
        "CREATE INDEX deployment_history_time ON deployment_history (model_id, env, at, ended_at)",
        "ALTER TABLE promotion_requests ADD COLUMN deployment TEXT",
    ]
}
