import VesselCore

/// A webhook subscription as stored, with its secret (needed to sign deliveries).
public struct WebhookSubscription: Sendable, Equatable {
    public var id: String
    public var url: String
    public var filter: EventFilter
    public var format: WebhookFormat
    public var secret: String
    public var createdAt: Int64
    public var createdBy: String

    /// The API shape, without the secret.
    public var info: WebhookInfo {
        WebhookInfo(id: id, url: url, events: filter.patterns, scope: filter.scope.description, format: format,
                    createdAt: Timestamp.rfc3339(micros: createdAt), createdBy: createdBy)
    }

    /// Whether this subscription receives `event`: by its filter, except that `webhook.test`
    /// goes only to the subscription it names.
    public func takes(_ event: OutboxEvent) -> Bool {
        if event.type == Outbox.EventType.webhookTest.rawValue { return event.payload["webhook"] == id }
        return filter.matches(type: event.type, model: event.model.isEmpty ? nil : event.model)
    }
}

/// Errors shared by the webhook store and the routes above it.
public enum WebhookErrors {
    /// The one answer for an event that does not exist and for one the caller may not see, so
    /// the two cannot be told apart: it names no id and no model.
    public static func unknownEvent() -> VesselError {
        .notFound("no such event: events are kept for the outbox retention window, and only those of models you can read are shown")
    }
}

/// One event waiting to be delivered to one subscription.
public struct PendingDelivery: Sendable, Equatable {
    public var webhookID: String
    public var eventSeq: Int64
    public var eventID: String
    public var eventType: String
    /// When the event happened (microseconds since the epoch).
    public var eventAt: Int64
    /// `owner/name`, or "" for events without a model.
    public var model: String
    public var payload: [String: String]
    /// Attempts made so far.
    public var attempts: Int
    /// When the first attempt was made (nil before it); the retry window counts from here.
    public var firstAttemptAt: Int64?
    /// Not before this time.
    public var nextAttemptAt: Int64
    /// Whether a delivery row exists for it. Events of a stream with nothing held back are
    /// sent straight from the outbox (`direct`) and get a row only if their attempt fails.
    public var stored: Bool = true

    /// `event` for `webhook`, not yet attempted and without a delivery row: sent as it is, or
    /// handed to `queueDeliveries` / `recordAttempts` to be stored.
    public static func unsent(_ event: OutboxEvent, webhook: String, now: Int64) -> PendingDelivery {
        PendingDelivery(webhookID: webhook, eventSeq: event.seq, eventID: event.id, eventType: event.type, eventAt: event.at, model: event.model,
                        payload: event.payload, attempts: 0, firstAttemptAt: nil, nextAttemptAt: now, stored: false)
    }
}

/// One attempt ready to be written: the delivery it was for, its outcome, and its id.
public struct AttemptRecord: Sendable {
    public var delivery: PendingDelivery
    public var attempt: DeliveryAttempt
    public var id: String

    public init(_ delivery: PendingDelivery, _ attempt: DeliveryAttempt, id: String) {
        self.delivery = delivery
        self.attempt = attempt
        self.id = id
    }
}

/// The result of one attempt, as recorded.
public struct DeliveryAttempt: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// 2xx: done.
        case delivered
        /// Will be retried at `nextAttemptAt`.
        case failed
        /// Failed, and the retry window is over: given up (holds back nothing any more).
        case dead
    }

    public var status: Status
    public var at: Int64
    public var responseCode: Int?
    public var latencyMicros: Int64
    public var error: String?
    /// For `failed`: when to try again.
    public var nextAttemptAt: Int64

    public init(status: Status, at: Int64, responseCode: Int?, latencyMicros: Int64, error: String?, nextAttemptAt: Int64) {
        self.status = status
        self.at = at
        self.responseCode = responseCode
        self.latencyMicros = latencyMicros
        self.error = error
        self.nextAttemptAt = nextAttemptAt
    }
}

/// Webhook subscriptions and their delivery state.
///
/// Contract: every outbox event at or below a subscription's stored cursor is settled for it:
/// skipped (not matched), sent with its attempt recorded, or held in a delivery row
/// (`pending` until `delivered` or `dead`). The cursor only moves forward. Within one
/// (subscription, model) the lowest pending row is the only one `dueDeliveryGroups` offers,
/// so rows keep order; the delivery service sends an event without a row only while its
/// stream has none pending (see `WebhookDelivery`).
public protocol WebhookStore: Sendable {
    /// New subscriptions start after the newest event: they receive what happens from now on.
    func createWebhook(url: String, filter: EventFilter, format: WebhookFormat, secret: String, change: ChangeContext) async throws -> WebhookSubscription
    func webhooks() async throws -> [WebhookSubscription]
    /// - Throws: `not_found`.
    func webhook(id: String) async throws -> WebhookSubscription
    /// Removes the subscription with its delivery state. - Throws: `not_found`.
    func deleteWebhook(id: String, change: ChangeContext) async throws
    /// Appends a `webhook.test` event addressed to this subscription only; returns its event id.
    func queueTestEvent(webhook id: String, change: ChangeContext) async throws -> String
    /// The outbox event with this id, or nil when there is none (never was, or purged).
    func outboxEvent(id: String) async throws -> OutboxEvent?
    /// Queues `eventID` again for `webhook`, or else for every subscription it was queued for
    /// (only those in `among`, when given); returns which. Only subscriptions whose filter and
    /// scope take the event (`WebhookSubscription.takes`) are ever targeted.
    /// - Throws: `not_found` for an unknown (or purged) event (`WebhookErrors.unknownEvent`), an
    ///   unknown subscription, a named one that does not take the event, or none to redeliver to.
    func redeliver(eventID: String, webhook: String?, among: Set<String>?, change: ChangeContext) async throws -> [String]

    /// Every subscription with its stored cursor: the larger of where it started and how far
    /// the delivery service has settled it.
    func webhookCursors() async throws -> [(subscription: WebhookSubscription, cursor: Int64)]
    /// Up to `limit` outbox events after `seq`, oldest first.
    func outboxEvents(after seq: Int64, limit: Int) async throws -> [OutboxEvent]
    /// The (subscription, model) streams with a pending delivery row.
    func heldStreams() async throws -> [(webhook: String, model: String)]
    /// In one transaction: a pending row for each of `rows` (an existing row is kept) and
    /// each cursor moved forward to the given value (never back).
    func queueDeliveries(_ rows: [PendingDelivery], cursors: [(webhook: String, cursor: Int64)], now: Int64) async throws
    /// (subscription, model) groups whose oldest pending delivery is due at `now`.
    func dueDeliveryGroups(now: Int64, limit: Int) async throws -> [(webhook: String, model: String)]
    /// The group's pending deliveries, oldest event first.
    func pendingDeliveries(webhook: String, model: String, limit: Int) async throws -> [PendingDelivery]
    /// Records attempts and moves each delivery to its new state, all in one transaction. An
    /// attempt of a delivery without a row (`stored == false`) that failed gets a row, and so
    /// does each of `queue` (a pending row: the rest of a stream behind that failure).
    func recordAttempts(_ records: [AttemptRecord], queue: [PendingDelivery]) async throws
    /// The most recent attempts of a subscription, newest first.
    /// Newest first, `limit` (1…1000) a page.
    func deliveryAttempts(webhook: String, limit: Int, cursor: String?) async throws -> Page<DeliveryAttemptInfo>
    /// Deliveries not yet delivered or dead, over all subscriptions.
    func pendingDeliveryCount() async throws -> Int
}

extension WebhookStore {
    public func recordAttempts(_ records: [AttemptRecord]) async throws {
        try await recordAttempts(records, queue: [])
    }
}
