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
}

/// What one call of `enqueueDeliveries` did.
public struct QueuedDeliveries: Sendable {
    /// Events looked at.
    public var events: Int
    /// (subscription, model) groups that got deliveries, each once, in the order first queued.
    public var groups: [(webhook: String, model: String)]

    public init(events: Int, groups: [(webhook: String, model: String)]) {
        self.events = events
        self.groups = groups
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
/// Contract: every outbox event with `seq` above a subscription's cursor is either matched
/// (a delivery row, `pending` until `delivered` or `dead`) or skipped, and the cursor only
/// moves forward past events that were considered. Within one (subscription, model) the
/// lowest pending event is the only one `dueDeliveryGroups` offers, so deliveries keep order.
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
    /// Queues `eventID` again for `webhook`, or else for every subscription it was queued for
    /// (only those in `among`, when given); returns which.
    /// - Throws: `not_found` for an unknown (or purged) event or subscription, or none to redeliver to.
    func redeliver(eventID: String, webhook: String?, among: Set<String>?, change: ChangeContext) async throws -> [String]

    /// Moves every subscription's cursor over at most `limit` new events, queueing the ones
    /// its filter matches. Returns how many events it looked at (`limit` means: call again)
    /// and the (subscription, model) groups it queued deliveries for.
    func enqueueDeliveries(now: Int64, limit: Int) async throws -> QueuedDeliveries
    /// (subscription, model) groups whose oldest pending delivery is due at `now`.
    func dueDeliveryGroups(now: Int64, limit: Int) async throws -> [(webhook: String, model: String)]
    /// The group's pending deliveries, oldest event first.
    func pendingDeliveries(webhook: String, model: String, limit: Int) async throws -> [PendingDelivery]
    /// Records attempts and moves each delivery to its new state, all in one transaction.
    func recordAttempts(_ records: [AttemptRecord]) async throws
    /// The most recent attempts of a subscription, newest first.
    func deliveryAttempts(webhook: String, limit: Int) async throws -> [DeliveryAttemptInfo]
    /// Deliveries not yet delivered or dead, over all subscriptions.
    func pendingDeliveryCount() async throws -> Int
}
