import VesselMetadata

/// What one call of `enqueueDeliveries` did.
struct QueuedDeliveries {
    /// Events looked at.
    var events: Int
    /// (subscription, model) groups that got deliveries, each once, in the order first queued.
    var groups: [(webhook: String, model: String)]
}

/// Test helpers over the store's primitives. The delivery service sends a stream with nothing
/// held back straight from the outbox and stores rows only behind a failure; these tests
/// exercise the row bookkeeping itself, so they queue a row for every match.
extension WebhookStore {
    /// Moves every subscription's cursor over at most `limit` new events, queueing a row for
    /// each one its filter matches. Returns how many events it looked at and the
    /// (subscription, model) groups it queued deliveries for.
    func enqueueDeliveries(now: Int64, limit: Int) async throws -> QueuedDeliveries {
        let hooks = try await webhookCursors()
        guard let from = hooks.map(\.cursor).min() else { return QueuedDeliveries(events: 0, groups: []) }
        let events = try await outboxEvents(after: from, limit: limit)
        guard let last = events.last?.seq else { return QueuedDeliveries(events: 0, groups: []) }
        var rows: [PendingDelivery] = []
        var groups: [(webhook: String, model: String)] = []
        for (subscription, cursor) in hooks where cursor < last {
            for event in events where event.seq > cursor && subscription.takes(event) {
                if !groups.contains(where: { $0 == (subscription.id, event.model) }) { groups.append((subscription.id, event.model)) }
                rows.append(.unsent(event, webhook: subscription.id, now: now))
            }
        }
        try await queueDeliveries(rows, cursors: hooks.filter { $0.cursor < last }.map { ($0.subscription.id, last) }, now: now)
        return QueuedDeliveries(events: events.count, groups: groups)
    }

    /// `recordAttempts` with nothing queued behind the attempts.
    func recordAttempts(_ records: [AttemptRecord]) async throws {
        try await recordAttempts(records, queue: [])
    }
}
