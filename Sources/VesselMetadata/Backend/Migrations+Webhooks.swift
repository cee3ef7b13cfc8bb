extension Migrations {
    /// 6: webhook subscriptions (each with its cursor into the outbox), one delivery row per
    /// (subscription, event) it matched, and every attempt made.
    static let webhooks: [String] = [
        """
        CREATE TABLE webhooks (id TEXT PRIMARY KEY, url TEXT NOT NULL, events TEXT NOT NULL, scope TEXT NOT NULL,
          format TEXT NOT NULL, secret TEXT NOT NULL, cursor BIGINT NOT NULL, created_at BIGINT NOT NULL, created_by TEXT NOT NULL)
        """,
        """
        CREATE TABLE webhook_deliveries (webhook_id TEXT NOT NULL REFERENCES webhooks(id), event_seq BIGINT NOT NULL,
          model TEXT NOT NULL, status TEXT NOT NULL, attempts BIGINT NOT NULL, next_attempt_at BIGINT NOT NULL,
          first_attempt_at BIGINT, updated_at BIGINT NOT NULL, PRIMARY KEY (webhook_id, event_seq))
        """,
        "CREATE INDEX webhook_deliveries_group ON webhook_deliveries (webhook_id, model, status, event_seq)",
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)",
        "CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_seq, status)",
        """
        CREATE TABLE webhook_attempts (id TEXT PRIMARY KEY, webhook_id TEXT NOT NULL REFERENCES webhooks(id),
          event_seq BIGINT NOT NULL, attempt BIGINT NOT NULL, at BIGINT NOT NULL, status TEXT NOT NULL,
          response_code BIGINT, latency_micros BIGINT NOT NULL, error TEXT)
        """,
        "CREATE INDEX webhook_attempts_webhook ON webhook_attempts (webhook_id, at)",
    ]
}
