import SQLKit
import VesselCore

/// Subscriptions: create, list, remove, test, redeliver.
extension SQLMetadataStore {
    public func createWebhook(url: String, filter: EventFilter, format: WebhookFormat, secret: String, change: ChangeContext) async throws -> WebhookSubscription {
        let now = clock()
        let subscription = WebhookSubscription(id: "whk_" + makeID().replacingOccurrences(of: "-", with: ""), url: url, filter: filter,
                                               format: format, secret: secret, createdAt: now, createdBy: change.actor)
        let events = try Self.encodeJSON(filter.patterns)
        try await write { db in
            let head = try await db.raw("SELECT seq FROM event_head WHERE id = 1").first().map { try $0.decode(column: "seq", as: Int64.self) } ?? 0
            try await db.raw("""
                INSERT INTO webhooks (id, url, events, scope, format, secret, cursor, created_at, created_by)
                VALUES (\(bind: subscription.id), \(bind: url), \(bind: events), \(bind: filter.scope.description), \(bind: format.rawValue),
                  \(bind: try self.secrets.seal(secret, id: subscription.id)), \(bind: head), \(bind: now), \(bind: change.actor))
                """).run()
            try await self.audit(db, change, at: now, action: "webhook.create", target: "webhook/\(subscription.id)",
                                 model: Self.model(of: filter.scope), after: "\(url) events=\(filter.patterns.joined(separator: ",")) scope=\(filter.scope) format=\(format.rawValue)")
        }
        return subscription
    }

    public func webhooks() async throws -> [WebhookSubscription] {
        try await backend.read { db in
            try await db.raw("SELECT * FROM webhooks ORDER BY created_at, id").all().map(Self.subscription)
        }.map(opened)
    }

    public func webhook(id: String) async throws -> WebhookSubscription {
        let row = try await backend.read { db in try await db.raw("SELECT * FROM webhooks WHERE id = \(bind: id)").first() }
        guard let row else { throw VesselError.notFound("webhook '\(id)' does not exist") }
        return try opened(try Self.subscription(row))
    }

    public func deleteWebhook(id: String, change: ChangeContext) async throws {
        let now = clock()
        try await write { db in
            guard let row = try await db.raw("SELECT * FROM webhooks WHERE id = \(bind: id)").first() else {
                throw VesselError.notFound("webhook '\(id)' does not exist")
            }
            let subscription = try Self.subscription(row)
            if self.sharesDeliveries { try await Self.forgetDeliveries(of: id, db) }
            try await db.raw("DELETE FROM webhooks WHERE id = \(bind: id)").run()
            try await self.audit(db, change, at: now, action: "webhook.delete", target: "webhook/\(id)",
                                 model: Self.model(of: subscription.filter.scope), before: subscription.url)
        }
        // In a separate delivery database, afterwards: rows the delivery service queues for this
        // subscription in between are removed by the retention job (`purgeEvents`).
        if !sharesDeliveries { try await deliveries.transaction { try await Self.forgetDeliveries(of: id, $0) } }
    }

    static func forgetDeliveries(of webhook: String, _ db: any SQLDatabase) async throws {
        try await db.raw("DELETE FROM webhook_attempts WHERE webhook_id = \(bind: webhook)").run()
        try await db.raw("DELETE FROM webhook_deliveries WHERE webhook_id = \(bind: webhook)").run()
        try await db.raw("DELETE FROM webhook_cursors WHERE webhook_id = \(bind: webhook)").run()
    }

    public func queueTestEvent(webhook id: String, change: ChangeContext) async throws -> String {
        let now = clock()
        let eventID = makeID()
        try await write { db in
            guard try await db.raw("SELECT id FROM webhooks WHERE id = \(bind: id)").first() != nil else {
                throw VesselError.notFound("webhook '\(id)' does not exist")
            }
            try await Outbox.append(db, id: eventID, type: .webhookTest, at: now, model: nil, payload: ["webhook": id, "actor": change.actor])
            try await self.audit(db, change, at: now, action: "webhook.test", target: "webhook/\(id)", model: nil, after: eventID)
        }
        return eventID
    }

    public func outboxEvent(id: String) async throws -> OutboxEvent? {
        try await backend.read { db in
            try await db.raw("SELECT seq, id, type, at, model, payload FROM events WHERE id = \(bind: id)").first().map(Self.outboxEvent)
        }
    }

    public func redeliver(eventID: String, webhook: String?, among: Set<String>?, change: ChangeContext) async throws -> [String] {
        let now = clock()
        guard let event = try await outboxEvent(id: eventID) else { throw WebhookErrors.unknownEvent() }
        let (seq, model) = (event.seq, event.model)
        // A named subscription gets only what its filter and scope take, as in the delivery
        // loop: otherwise `acme/*`'s hook could be sent `beta/hidden`'s events.
        if let webhook {
            let row = try await backend.read { db in try await db.raw("SELECT * FROM webhooks WHERE id = \(bind: webhook)").first() }
            guard let row else { throw VesselError.notFound("webhook '\(webhook)' does not exist") }
            guard try Self.subscription(row).takes(event) else {
                throw VesselError.notFound("webhook '\(webhook)' does not take this event (its event filter or scope does not match); redeliver it to a webhook that does")
            }
        }
        // The subscriptions that take it and existed when it happened: streams without
        // anything held back send without a delivery row, so rows do not tell.
        let queuedFor = webhook != nil ? [] : try await backend.read { db in
            try await db.raw("SELECT * FROM webhooks ORDER BY id").all().map(Self.subscriptionWithStart)
        }.filter { $0.start < seq && $0.subscription.takes(event) && (among?.contains($0.subscription.id) ?? true) }.map(\.subscription.id)
        let targets: [String] = try await write { db in
            let existing = try await Self.webhookIDs(db)
            var targets = queuedFor.filter(existing.contains)
            if let webhook {
                guard existing.contains(webhook) else { throw VesselError.notFound("webhook '\(webhook)' does not exist") }
                targets = [webhook]
            }
            guard !targets.isEmpty else {
                throw VesselError.notFound("event '\(eventID)' was not delivered to any webhook; name one with --webhook")
            }
            for target in targets {
                try await self.audit(db, change, at: now, action: "webhook.redeliver", target: "webhook/\(target)",
                                     model: try? ModelName(model), after: eventID)
            }
            if self.sharesDeliveries { try await Self.queueAgain(seq, model: model, for: targets, at: now, db) }
            return targets
        }
        // In a separate delivery database, right after the audit entries that announce it.
        if !sharesDeliveries { try await deliveries.transaction { try await Self.queueAgain(seq, model: model, for: targets, at: now, $0) } }
        return targets
    }

    static func queueAgain(_ seq: Int64, model: String, for targets: [String], at now: Int64, _ db: any SQLDatabase) async throws {
        for target in targets {
            try await db.raw("""
                INSERT INTO webhook_deliveries (webhook_id, event_seq, model, status, attempts, next_attempt_at, first_attempt_at, updated_at)
                VALUES (\(bind: target), \(bind: seq), \(bind: model), 'pending', 0, \(bind: now), NULL, \(bind: now))
                ON CONFLICT (webhook_id, event_seq) DO UPDATE SET status = 'pending', next_attempt_at = \(bind: now),
                  first_attempt_at = NULL, updated_at = \(bind: now)
                """).run()
        }
    }

    /// `subscription` with its secret opened (see `WebhookSecretSealer`).
    func opened(_ subscription: WebhookSubscription) throws -> WebhookSubscription {
        var subscription = subscription
        subscription.secret = try secrets.open(subscription.secret, id: subscription.id)
        return subscription
    }

    func opened(_ hook: (subscription: WebhookSubscription, start: Int64)) throws -> (subscription: WebhookSubscription, start: Int64) {
        (try opened(hook.subscription), hook.start)
    }

    /// Checks at start-up that every stored secret opens with this store's key (or that none is
    /// sealed when there is no key), and seals those stored as given when there is a key.
    /// - Returns: how many secrets were sealed now.
    /// - Throws: `unavailable` for a secret that does not open: a wrong or missing key.
    public func prepareWebhookSecrets() async throws -> Int {
        let stored = try await backend.read { db in
            try await db.raw("SELECT id, secret FROM webhooks ORDER BY id").all().map {
                (id: try $0.decode(column: "id", as: String.self), secret: try $0.decode(column: "secret", as: String.self))
            }
        }
        var sealed = 0
        for row in stored {
            let secret = try secrets.open(row.secret, id: row.id)
            guard secrets.encrypts, !WebhookSecretSealer.isSealed(row.secret) else { continue }
            let value = try secrets.seal(secret, id: row.id)
            try await backend.transaction { db in
                try await db.raw("UPDATE webhooks SET secret = \(bind: value) WHERE id = \(bind: row.id) AND secret = \(bind: row.secret)").run()
            }
            sealed += 1
        }
        return sealed
    }

    /// A subscription as stored: its `secret` may be sealed (`opened` opens it).
    static func subscription(_ row: any SQLRow) throws -> WebhookSubscription {
        let patterns = try decodeJSON([String].self, try row.decode(column: "events", as: String.self))
        let format = try row.decode(column: "format", as: String.self)
        return WebhookSubscription(
            id: try row.decode(column: "id", as: String.self),
            url: try row.decode(column: "url", as: String.self),
            filter: try EventFilter(patterns: patterns, scope: try Scope(try row.decode(column: "scope", as: String.self))),
            format: WebhookFormat(rawValue: format) ?? .json,
            secret: try row.decode(column: "secret", as: String.self),
            createdAt: try row.decode(column: "created_at", as: Int64.self),
            createdBy: try row.decode(column: "created_by", as: String.self)
        )
    }
}
