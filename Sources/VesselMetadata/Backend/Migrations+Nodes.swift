extension Migrations {
    /// Nodes and drift (issue 24). `deployment_nodes` holds what each agent last reported
    /// (`PUT …/deployments/:env/nodes/:node`), keyed by model, environment and node name, with
    /// the principal that first reported it (`owner`, the only one that may report it again).
    /// `deployment_endpoints` holds the serving URLs the registry polls itself
    /// (`vessel deploy endpoint add`) and what their last poll read. Both carry the drift job's
    /// verdict: `drift` (null until first judged), `drift_since`, and `mismatch_since` (when the
    /// job first saw another digest than the slot's, null while they agree). Times are
    /// microseconds since the epoch.
    static let nodes: [String] = [
        """
        CREATE TABLE deployment_nodes (model_id TEXT NOT NULL REFERENCES models(id), env TEXT NOT NULL, node TEXT NOT NULL,
          owner TEXT NOT NULL, slot TEXT NOT NULL, digest TEXT, version BIGINT, state TEXT NOT NULL, message TEXT,
          first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,
          drift TEXT, drift_since BIGINT, mismatch_since BIGINT, PRIMARY KEY (model_id, env, node))
        """,
        """
        CREATE TABLE deployment_endpoints (model_id TEXT NOT NULL REFERENCES models(id), env TEXT NOT NULL, url TEXT NOT NULL,
          slot TEXT NOT NULL, added_by TEXT NOT NULL, added_at BIGINT NOT NULL,
          digest TEXT, version BIGINT, state TEXT, message TEXT, last_seen BIGINT, last_polled BIGINT, reachable BIGINT,
          drift TEXT, drift_since BIGINT, mismatch_since BIGINT, PRIMARY KEY (model_id, env, url))
        """,
    ]
}
