import SQLKit
import VesselCore

/// The delivery side of webhooks: cursors over the outbox, due groups, attempts.
extension SQLMetadataStore: WebhookStore {
    public func webhookCursors() async throws -> [(subscription: WebhookSubscription, cursor: Int64)] {
        try await withCursors(try await backend.read { db in try await db.raw("SELECT * FROM webhooks").all().map(Self.subscriptionWithStart) }.map(opened))
    }

    public func outboxEvents(after seq: Int64, limit: Int) async throws -> [OutboxEvent] {
        let limit = PageCursor.clamp(limit)
        return try await backend.read { db in
            try await db.raw("""
                SELECT seq, id, type, at, model, payload FROM events WHERE seq > \(bind: seq) ORDER BY seq LIMIT \(bind: limit)
                """).all().map(Self.outboxEvent)
        }
    }

    static func outboxEvent(_ row: any SQLRow) throws -> OutboxEvent {
        OutboxEvent(seq: try row.decode(column: "seq", as: Int64.self), id: try row.decode(column: "id", as: String.self),
                    type: try row.decode(column: "type", as: String.self), at: try row.decode(column: "at", as: Int64.self),
                    model: try row.decode(column: "model", as: String?.self) ?? "",
                    payload: (try? decodeJSON([String: String].self, try row.decode(column: "payload", as: String.self))) ?? [:])
    }

    public func heldStreams() async throws -> [(webhook: String, model: String)] {
        try await deliveries.read { db in
            try await db.raw("SELECT DISTINCT webhook_id, model FROM webhook_deliveries WHERE status = 'pending'").all()
                .map { (webhook: try $0.decode(column: "webhook_id", as: String.self), model: try $0.decode(column: "model", as: String.self)) }
        }
    }

    public func queueDeliveries(_ rows: [PendingDelivery], cursors: [(webhook: String, cursor: Int64)], now: Int64) async throws {
        guard !rows.isEmpty || !cursors.isEmpty else { return }
        let advanced: [any SQLExpression] = cursors.map { SQLGroupExpression([SQLBind($0.webhook), SQLBind($0.cursor)]) }
        let shared = sharesDeliveries
        try await deliveries.transaction { db in
            // Where the rows refer to `webhooks` (one database), a subscription removed since the
            // caller read it would fail the whole transaction: its rows are left out instead.
            var rows = rows
            if shared && !rows.isEmpty {
                let live = try await Self.webhookIDs(db)
                rows = rows.filter { live.contains($0.webhookID) }
            }
            try await Self.insertPending(rows, now: now, db)
            guard !advanced.isEmpty else { return }
            try await db.raw("""
                INSERT INTO webhook_cursors (webhook_id, cursor) VALUES \(SQLList(advanced))
                ON CONFLICT (webhook_id) DO UPDATE SET cursor = excluded.cursor WHERE webhook_cursors.cursor < excluded.cursor
                """).run()
        }
    }

    /// The ids of the subscriptions that exist, read in `db`'s transaction.
    static func webhookIDs(_ db: any SQLDatabase) async throws -> Set<String> {
        Set(try await db.raw("SELECT id FROM webhooks").all().map { try $0.decode(column: "id", as: String.self) })
    }

    /// Delivery rows for `rows` in their current state (an existing row is kept), many per
    /// statement: a statement per row held the writer for milliseconds.
    static func insertPending(_ rows: [PendingDelivery], now: Int64, _ db: any SQLDatabase) async throws {
        let values: [any SQLExpression] = rows.map { row in
            SQLGroupExpression([
                SQLBind(row.webhookID), SQLBind(row.eventSeq), SQLBind(row.model), SQLLiteral.string("pending"), SQLBind(Int64(row.attempts)),
                SQLBind(row.nextAttemptAt), SQLBind(row.firstAttemptAt), SQLBind(now),
            ])
        }
        for batch in values.batches(of: 200) {
            try await db.raw("""
                INSERT INTO webhook_deliveries (webhook_id, event_seq, model, status, attempts, next_attempt_at, first_attempt_at, updated_at)
                VALUES \(SQLList(batch))
                ON CONFLICT (webhook_id, event_seq) DO NOTHING
                """).run()
        }
    }

    /// Each subscription with its cursor: the larger of where it started (`webhooks.cursor`)
    /// and how far the delivery service has moved it (`webhook_cursors`, kept with the
    /// delivery state).
    func withCursors(_ hooks: [(subscription: WebhookSubscription, start: Int64)]) async throws -> [(subscription: WebhookSubscription, cursor: Int64)] {
        guard !hooks.isEmpty else { return [] }
        let moved = try await deliveries.read { db in
            var cursors: [String: Int64] = [:]
            for row in try await db.raw("SELECT webhook_id, cursor FROM webhook_cursors").all() {
                cursors[try row.decode(column: "webhook_id", as: String.self)] = try row.decode(column: "cursor", as: Int64.self)
            }
            return cursors
        }
        return hooks.map { (subscription: $0.subscription, cursor: max($0.start, moved[$0.subscription.id] ?? $0.start)) }
    }

    static func subscriptionWithStart(_ row: any SQLRow) throws -> (subscription: WebhookSubscription, start: Int64) {
        (try subscription(row), try row.decode(column: "cursor", as: Int64.self))
    }

    /// The outbox events with these sequence numbers (those still kept), by number.
    func events(_ seqs: [Int64]) async throws -> [Int64: (id: String, type: String, at: Int64, payload: String)] {
        guard !seqs.isEmpty else { return [:] }
        return try await backend.read { db in
            var events: [Int64: (id: String, type: String, at: Int64, payload: String)] = [:]
            for row in try await db.raw("SELECT seq, id, type, at, payload FROM events WHERE seq IN (\(SQLList(seqs.map { SQLBind($0) })))").all() {
                events[try row.decode(column: "seq", as: Int64.self)] = (try row.decode(column: "id", as: String.self), try row.decode(column: "type", as: String.self),
                                                                          try row.decode(column: "at", as: Int64.self), try row.decode(column: "payload", as: String.self))
            }
            return events
        }
    }

    public func dueDeliveryGroups(now: Int64, limit: Int) async throws -> [(webhook: String, model: String)] {
        let limit = PageCursor.clamp(limit)
        return try await deliveries.read { db in
            try await db.raw("""
                SELECT d.webhook_id, d.model FROM webhook_deliveries d
                WHERE d.status = 'pending' AND d.next_attempt_at <= \(bind: now)
                  AND d.event_seq = (SELECT MIN(p.event_seq) FROM webhook_deliveries p
                    WHERE p.webhook_id = d.webhook_id AND p.model = d.model AND p.status = 'pending')
                ORDER BY d.event_seq LIMIT \(bind: limit)
                """).all().map { (webhook: try $0.decode(column: "webhook_id", as: String.self), model: try $0.decode(column: "model", as: String.self)) }
        }
    }

    public func pendingDeliveries(webhook: String, model: String, limit: Int) async throws -> [PendingDelivery] {
        let limit = PageCursor.clamp(limit)
        let rows = try await deliveries.read { db in
            try await db.raw("""
                SELECT event_seq, attempts, first_attempt_at, next_attempt_at FROM webhook_deliveries
                WHERE webhook_id = \(bind: webhook) AND model = \(bind: model) AND status = 'pending'
                ORDER BY event_seq LIMIT \(bind: limit)
                """).all().map { row in
                (seq: try row.decode(column: "event_seq", as: Int64.self), attempts: try row.decode(column: "attempts", as: Int.self),
                 first: try row.decode(column: "first_attempt_at", as: Int64?.self), next: try row.decode(column: "next_attempt_at", as: Int64.self))
            }
        }
        let events = try await events(rows.map(\.seq))
        // A delivery whose event the retention job removed meanwhile (it was queued again by
        // `redeliver` just then) cannot be sent; dropping it keeps it from holding back the stream.
        let gone = rows.map(\.seq).filter { events[$0] == nil }
        if !gone.isEmpty {
            try await deliveries.transaction { db in
                try await db.raw("""
                    DELETE FROM webhook_deliveries WHERE webhook_id = \(bind: webhook) AND event_seq IN (\(SQLList(gone.map { SQLBind($0) })))
                    """).run()
            }
        }
        return rows.compactMap { row in
            guard let event = events[row.seq] else { return nil }
            return PendingDelivery(
                webhookID: webhook, eventSeq: row.seq, eventID: event.id, eventType: event.type, eventAt: event.at, model: model,
                payload: (try? Self.decodeJSON([String: String].self, event.payload)) ?? [:],
                attempts: row.attempts, firstAttemptAt: row.first, nextAttemptAt: row.next
            )
        }
    }

    public func recordAttempts(_ records: [AttemptRecord], queue: [PendingDelivery]) async throws {
        guard !records.isEmpty || !queue.isEmpty else { return }
        // One UPDATE per 200 deliveries and one INSERT per 200 attempts: this transaction holds
        // the writer that API requests wait for, and a statement per attempt kept it for tens
        // of milliseconds under a burst. A delivery attempted more than once in the batch is
        // updated once, to its last state, counting every attempt.
        var keys: [String] = []
        var grouped: [String: [AttemptRecord]] = [:]
        for record in records {
            let key = record.delivery.webhookID + "\n" + String(record.delivery.eventSeq)
            if grouped[key] == nil { keys.append(key) }
            grouped[key, default: []].append(record)
        }
        let stored = keys.filter { grouped[$0]![0].delivery.stored }, direct = keys.filter { !grouped[$0]![0].delivery.stored }
        let updates = grouped, shared = sharesDeliveries, now = clock()
        try await deliveries.transaction { db in
            // (attempt record, its number) for every attempt to write.
            var written: [(AttemptRecord, Int64)] = []
            for batch in stored.batches(of: 200) {
                let values: [any SQLExpression] = batch.map { key in
                    let batch = updates[key]!
                    let first = batch[0], last = batch[batch.count - 1]
                    let state = last.attempt.status == .failed ? "pending" : last.attempt.status.rawValue
                    return SQLGroupExpression([
                        SQLBind(first.delivery.webhookID), SQLBind(first.delivery.eventSeq), SQLBind(state), SQLBind(Int64(batch.count)),
                        SQLBind(last.attempt.nextAttemptAt), SQLBind(first.attempt.at), SQLBind(last.attempt.at),
                    ])
                }
                let rows = try await db.raw("""
                    UPDATE webhook_deliveries SET status = v.column3, attempts = attempts + v.column4, next_attempt_at = v.column5,
                      first_attempt_at = COALESCE(first_attempt_at, v.column6), updated_at = v.column7
                    FROM (VALUES \(SQLList(values))) AS v
                    WHERE webhook_deliveries.webhook_id = v.column1 AND webhook_deliveries.event_seq = v.column2
                    RETURNING webhook_deliveries.webhook_id, webhook_deliveries.event_seq, webhook_deliveries.attempts
                    """).all()
                for row in rows {
                    let key = try row.decode(column: "webhook_id", as: String.self) + "\n" + String(try row.decode(column: "event_seq", as: Int64.self))
                    // A delivery whose subscription was removed meanwhile returns no row: nothing to record.
                    guard let batch = updates[key] else { continue }
                    let total = try row.decode(column: "attempts", as: Int64.self)
                    for (index, record) in batch.enumerated() { written.append((record, total - Int64(batch.count - 1 - index))) }
                }
            }
            // Deliveries sent without a row: their attempts, and a row for those that failed
            // (the stream holds back behind it), with the rest of the stream behind them.
            // Where the delivery tables refer to `webhooks` (one database), a subscription
            // removed meanwhile is skipped, as above.
            var live: Set<String>?
            if shared && !(direct.isEmpty && queue.isEmpty) {
                live = try await Self.webhookIDs(db)
            }
            var held: [PendingDelivery] = []
            for key in direct {
                let batch = updates[key]!
                guard live?.contains(batch[0].delivery.webhookID) ?? true else { continue }
                for (index, record) in batch.enumerated() { written.append((record, Int64(index + 1))) }
                let last = batch[batch.count - 1]
                if last.attempt.status == .failed {
                    var row = last.delivery
                    row.attempts = batch.count
                    row.firstAttemptAt = batch[0].attempt.at
                    row.nextAttemptAt = last.attempt.nextAttemptAt
                    held.append(row)
                }
            }
            held += queue.filter { live?.contains($0.webhookID) ?? true }
            try await Self.insertPending(held, now: now, db)
            let attempts: [any SQLExpression] = written.map { record, number in
                let (delivery, attempt) = (record.delivery, record.attempt)
                return SQLGroupExpression([
                    SQLBind(record.id), SQLBind(delivery.webhookID), SQLBind(delivery.eventSeq), SQLBind(number),
                    SQLBind(attempt.at), SQLBind(attempt.status.rawValue), SQLBind(attempt.responseCode), SQLBind(attempt.latencyMicros), SQLBind(attempt.error),
                ])
            }
            for batch in attempts.batches(of: 200) {
                try await db.raw("""
                    INSERT INTO webhook_attempts (id, webhook_id, event_seq, attempt, at, status, response_code, latency_micros, error)
                    VALUES \(SQLList(batch))
                    """).run()
            }
        }
    }

    public func deliveryAttempts(webhook: String, limit: Int, cursor: String?) async throws -> Page<DeliveryAttemptInfo> {
        let limit = PageCursor.clamp(limit)
        // Newest first; the cursor is the (at, event_seq, attempt) of the last attempt of a page.
        let cursors = try await pageCursor()
        let list = "attempts \(webhook)"
        let after: (at: Int64, seq: Int64, attempt: Int)? = try cursor.map { cursor in
            let parts = try cursors.decode(cursor, list: list).split(separator: " ").compactMap { Int64($0) }
            guard parts.count == 3 else { throw VesselError.invalidArgument("the paging cursor is not one this server issued") }
            return (parts[0], parts[1], Int(parts[2]))
        }
        let rows = try await deliveries.read { db in
            if let after {
                return try await db.raw("""
                    SELECT attempt, at, status, response_code, latency_micros, error, event_seq FROM webhook_attempts
                    WHERE webhook_id = \(bind: webhook) AND (at < \(bind: after.at) OR (at = \(bind: after.at) AND (event_seq < \(bind: after.seq)
                      OR (event_seq = \(bind: after.seq) AND attempt < \(bind: after.attempt)))))
                    ORDER BY at DESC, event_seq DESC, attempt DESC LIMIT \(bind: limit + 1)
                    """).all()
            }
            return try await db.raw("""
                SELECT attempt, at, status, response_code, latency_micros, error, event_seq FROM webhook_attempts
                WHERE webhook_id = \(bind: webhook) ORDER BY at DESC, event_seq DESC, attempt DESC LIMIT \(bind: limit + 1)
                """).all()
        }
        let page = rows.prefix(limit)
        var next: String?
        if rows.count > limit, let last = page.last {
            next = cursors.encode("\(try last.decode(column: "at", as: Int64.self)) \(try last.decode(column: "event_seq", as: Int64.self)) \(try last.decode(column: "attempt", as: Int.self))", list: list)
        }
        let events = try await events(try page.map { try $0.decode(column: "event_seq", as: Int64.self) })
        // Attempts of events the retention job removed are left out, as the events are.
        let items = try page.compactMap { row -> DeliveryAttemptInfo? in
            guard let event = events[try row.decode(column: "event_seq", as: Int64.self)] else { return nil }
            return DeliveryAttemptInfo(
                eventId: event.id,
                eventType: event.type,
                attempt: try row.decode(column: "attempt", as: Int.self),
                at: Timestamp.rfc3339(micros: try row.decode(column: "at", as: Int64.self)),
                status: try row.decode(column: "status", as: String.self),
                responseCode: try row.decode(column: "response_code", as: Int?.self),
                latencyMs: Double(try row.decode(column: "latency_micros", as: Int64.self)) / 1000,
                error: try row.decode(column: "error", as: String?.self)
            )
        }
        return Page(items: items, nextCursor: next)
    }

    public func pendingDeliveryCount() async throws -> Int {
        try await deliveries.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'pending'").first().map { try $0.decode(column: "n", as: Int.self) } ?? 0
        }
    }
}
