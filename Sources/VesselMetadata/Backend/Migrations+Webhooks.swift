import Logging

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

extension Migrations {
    /// 7: how far each subscription's cursor has moved. `webhooks.cursor` is now where the
    /// subscription started (the newest event when it was created) and never changes; the
    /// cursor is the larger of the two. Kept apart so the delivery service never writes
    /// `webhooks`, and so it can live in another database (see `deliverySteps`).
    static let webhookCursors: [String] = [
        "CREATE TABLE webhook_cursors (webhook_id TEXT PRIMARY KEY, cursor BIGINT NOT NULL)",
    ]

    /// 8: delivery rows are indexed by stream and by event only while `pending`. The indexes
    /// that named `status` (stream, due time, event) were rewritten on every state change, in
    /// the transaction that records attempts, and they grew with every delivered row kept for
    /// the retention window; partial indexes hold only what is still to be sent, and a row
    /// leaves them once, when it is delivered or dead. The plain index on `event_seq` (for
    /// `redeliver`) is not touched by state changes.
    static let pendingDeliveryIndexes: [String] = [
        "DROP INDEX webhook_deliveries_group",
        "DROP INDEX webhook_deliveries_due",
        "DROP INDEX webhook_deliveries_event",
        "CREATE INDEX webhook_deliveries_stream ON webhook_deliveries (webhook_id, model, event_seq) WHERE status = 'pending'",
        "CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (event_seq) WHERE status = 'pending'",
        "CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_seq)",
    ]

    /// The schema of `deliveries.sqlite`: the embedded registry keeps webhook delivery state
    /// (cursors, deliveries, attempts) in a SQLite file of its own, so the delivery service's
    /// writes never wait for, or hold up, the one writer of `metadata.sqlite`
    /// (docs/decisions/0009-delivery-database.md). Same tables as on PostgreSQL, without the
    /// foreign keys into `webhooks`, which lives in the other file.
    static let deliverySteps: [[String]] = [
        [
            "CREATE TABLE webhook_cursors (webhook_id TEXT PRIMARY KEY, cursor BIGINT NOT NULL)",
            """
            CREATE TABLE webhook_deliveries (webhook_id TEXT NOT NULL, event_seq BIGINT NOT NULL,
              model TEXT NOT NULL, status TEXT NOT NULL, attempts BIGINT NOT NULL, next_attempt_at BIGINT NOT NULL,
              first_attempt_at BIGINT, updated_at BIGINT NOT NULL, PRIMARY KEY (webhook_id, event_seq))
            """,
            "CREATE INDEX webhook_deliveries_group ON webhook_deliveries (webhook_id, model, status, event_seq)",
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)",
            "CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_seq, status)",
            """
            CREATE TABLE webhook_attempts (id TEXT PRIMARY KEY, webhook_id TEXT NOT NULL,
              event_seq BIGINT NOT NULL, attempt BIGINT NOT NULL, at BIGINT NOT NULL, status TEXT NOT NULL,
              response_code BIGINT, latency_micros BIGINT NOT NULL, error TEXT)
            """,
            "CREATE INDEX webhook_attempts_webhook ON webhook_attempts (webhook_id, at)",
            // A registry that kept its delivery state in metadata.sqlite (before this file
            // existed) brings it along. `registry` is attached while these run.
            "INSERT INTO webhook_deliveries SELECT * FROM registry.webhook_deliveries",
            "INSERT INTO webhook_attempts SELECT * FROM registry.webhook_attempts",
            "DELETE FROM registry.webhook_attempts",
            "DELETE FROM registry.webhook_deliveries",
        ],
        pendingDeliveryIndexes,
    ]

    /// Creates or updates `deliveries`'s schema; `registryPath` is the registry's database
    /// file (migrated first), whose old delivery rows the first step moves over.
    public static func runDeliveries(on deliveries: SQLiteBackend, registryPath: String, logger: Logger) async throws {
        try await deliveries.withMigrationLock { db in
            try await db.raw("ATTACH DATABASE \(bind: registryPath) AS registry").run()
            do {
                try await apply(deliverySteps, to: db, logger: logger)
            } catch {
                try? await db.raw("DETACH DATABASE registry").run()
                throw error
            }
            try await db.raw("DETACH DATABASE registry").run()
        }
    }
}
