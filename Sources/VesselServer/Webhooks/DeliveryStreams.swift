import VesselMetadata

/// How a direct send (`WebhookDelivery.send`) ended.
struct DirectOutcome: Sendable {
    /// When the failed event is due again, if one failed.
    var retryAt: Int64?
    /// Whether every event handed to it was sent and recorded (or stored as a row).
    var recorded: Bool
    /// Whether it stored delivery rows: the stream holds back its later events.
    var held: Bool
}

/// Events handed to a direct stream and not yet sent, with the rounds they came from.
struct DirectWork: Sendable {
    var deliveries: [PendingDelivery] = []
    /// For each round that handed it events: the subscription's cursor before that round.
    var rounds: [Int64] = []
    /// `DeliveryStreams.epoch` when it was taken.
    var epoch: Int
}

/// Which streams have a task, which hold back their new events, and how far each
/// subscription's events have been handed out and settled.
struct DeliveryStreams {
    /// Streams with a task (direct or rows).
    var streams = Set<DeliveryStreamKey>()
    /// Direct streams: what their task has still to send. A stream's new events join its
    /// running task here instead of becoming rows.
    var direct: [DeliveryStreamKey: DirectWork] = [:]
    /// Streams that stopped at an event not yet due, with when it is: rounds after new rows
    /// skip them until then (the periodic full query still finds them).
    var retryAt: [DeliveryStreamKey: Int64] = [:]
    /// Streams with pending rows (or about to have them): their new events are queued as rows.
    var held = Set<DeliveryStreamKey>()
    /// Per subscription: the events up to here are handed out (sent, queued or skipped).
    var cursors: [String: Int64] = [:]
    /// Per subscription: the cursor in the database.
    var storedCursors: [String: Int64] = [:]
    /// Per subscription, per round with direct sends not yet recorded (by the cursor the round
    /// started from): how many streams. The stored cursor may not pass the oldest.
    var unsettled: [String: [Int64: Int]] = [:]
    /// At most this many events wait in memory for a direct stream's task (a slow receiver
    /// that keeps answering); later ones become rows, which the task's end hands to the row
    /// path, and the stored cursor is not held back by an ever longer queue.
    static let queueLimit = 1000

    /// Bumped by `reset`: work taken before it settles nothing.
    var epoch = 0
    /// Set when a write failed: the next round starts again from the database.
    var reload = false

    /// Starts again from the database: its cursors (set by `follow`) and the streams it holds
    /// back. Events handed out but not yet taken by a task are dropped (they are read again).
    mutating func reset(held: Set<DeliveryStreamKey>) {
        epoch += 1
        reload = false
        self.held = held
        cursors = [:]
        storedCursors = [:]
        unsettled = [:]
        for key in direct.keys { direct[key] = DirectWork(epoch: epoch) }
    }

    /// Takes in the current subscriptions (a new one starts at its stored cursor; a removed one
    /// is forgotten) and returns where the round reads from: the lowest cursor.
    mutating func follow(_ hooks: [(subscription: WebhookSubscription, cursor: Int64)]) -> Int64? {
        let ids = Set(hooks.map(\.subscription.id))
        cursors = cursors.filter { ids.contains($0.key) }
        storedCursors = storedCursors.filter { ids.contains($0.key) }
        unsettled = unsettled.filter { ids.contains($0.key) }
        for (subscription, cursor) in hooks where cursors[subscription.id] == nil {
            cursors[subscription.id] = cursor
            storedCursors[subscription.id] = cursor
        }
        return cursors.values.min()
    }

    /// Hands the round's events to their streams: a direct stream (running or new, when a slot
    /// is free) takes them in memory; a stream with rows held back, or with a task sending
    /// rows, gets a row per event. Moves every subscription's cursor past the events, and says
    /// which direct streams need a task and which stored cursors may move.
    mutating func dispatch(_ events: [OutboxEvent], to subscriptions: [WebhookSubscription], now: Int64, concurrency: Int)
        -> (start: [(key: DeliveryStreamKey, subscription: WebhookSubscription)], rows: [PendingDelivery], rowStreams: [DeliveryStreamKey], cursors: [(webhook: String, cursor: Int64)], epoch: Int)
    {
        var start: [(key: DeliveryStreamKey, subscription: WebhookSubscription)] = []
        var rows: [PendingDelivery] = []
        var rowStreams: [DeliveryStreamKey] = []
        if let last = events.last?.seq {
            var queuedStreams = Set<DeliveryStreamKey>()
            for subscription in subscriptions {
                guard let from = cursors[subscription.id], from < last else { continue }
                var touched = Set<DeliveryStreamKey>()
                for event in events where event.seq > from && subscription.takes(event) {
                    let key = DeliveryStreamKey(webhook: subscription.id, model: event.model)
                    let delivery = PendingDelivery.unsent(event, webhook: subscription.id, now: now)
                    if held.contains(key) || (direct[key] == nil && (streams.contains(key) || streams.count >= concurrency))
                        || direct[key].map({ $0.deliveries.count >= Self.queueLimit }) == true {
                        held.insert(key)
                        rows.append(delivery)
                        if queuedStreams.insert(key).inserted { rowStreams.append(key) }
                        continue
                    }
                    if direct[key] == nil {
                        streams.insert(key)
                        direct[key] = DirectWork(epoch: epoch)
                        start.append((key, subscription))
                    }
                    direct[key]!.deliveries.append(delivery)
                    if touched.insert(key).inserted { direct[key]!.rounds.append(from) }
                }
                if !touched.isEmpty { unsettled[subscription.id, default: [:]][from, default: 0] += touched.count }
                cursors[subscription.id] = last
            }
        }
        return (start, rows, rowStreams, cursorsToStore(), epoch)
    }

    /// The stored cursors that may move: to the start of the oldest round with unrecorded
    /// direct sends, or else to where events are handed out.
    func cursorsToStore() -> [(webhook: String, cursor: Int64)] {
        cursors.compactMap { id, cursor in
            let target = unsettled[id]?.keys.min() ?? cursor
            return target > storedCursors[id] ?? .min ? (id, target) : nil
        }
    }

    mutating func stored(_ moved: [(webhook: String, cursor: Int64)], epoch: Int) {
        guard epoch == self.epoch else { return }
        for (id, cursor) in moved where cursors[id] != nil { storedCursors[id] = max(storedCursors[id] ?? .min, cursor) }
    }

    /// A direct stream's task takes everything handed to it so far; nil when there is nothing
    /// left, and then the stream is no longer running (in the same step, so no event handed
    /// out later is left without a task).
    mutating func take(_ key: DeliveryStreamKey) -> DirectWork? {
        guard var work = direct[key], !work.deliveries.isEmpty else {
            direct[key] = nil
            streams.remove(key)
            return nil
        }
        direct[key] = DirectWork(epoch: epoch)
        work.epoch = epoch
        return work
    }

    /// What a direct send's outcome means for the state: recorded work settles its rounds;
    /// unrecorded work makes the next round start again from the database; a failure holds
    /// the stream back and returns the events handed to it meanwhile, to be stored as rows.
    mutating func settle(_ work: DirectWork, key: DeliveryStreamKey, _ outcome: DirectOutcome) -> DirectWork? {
        var leftover: DirectWork?
        if let retry = outcome.retryAt { retryAt[key] = retry }
        if outcome.held {
            held.insert(key)
            leftover = direct[key]
            direct[key] = nil
        }
        guard work.epoch == epoch else { return leftover }
        guard outcome.recorded else {
            reload = true
            return leftover
        }
        let subscription = key.webhook
        for from in work.rounds {
            guard let count = unsettled[subscription]?[from] else { continue }
            unsettled[subscription]?[from] = count > 1 ? count - 1 : nil
            if unsettled[subscription]?.isEmpty == true { unsettled[subscription] = nil }
        }
        return leftover
    }

    /// A direct stream's task stops early (after a failure).
    mutating func end(_ key: DeliveryStreamKey) {
        direct[key] = nil
        streams.remove(key)
    }
}
