import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VesselCore
import VesselMetadata

/// Delivers outbox events to webhook subscriptions, at least once and in order per
/// (subscription, model), on the one replica that holds the `webhook-delivery` lease.
///
/// Each round reads the events after the subscriptions' cursors and hands each match to its
/// (subscription, model) stream. A stream with nothing held back gets a task that sends the
/// events straight from the outbox, one after the other, recording only the attempts; the
/// first failure stops it, and that event and the rest of the stream get delivery rows. A
/// stream with pending rows (or a task still sending) gets rows for its new events, and a
/// task sends its rows in order once their time comes; a failure waits out its backoff while
/// holding back the later events of that stream. Streams run concurrently, so a hanging
/// receiver delays only its own. A subscription's stored cursor moves past a round's events
/// once all of that round's direct sends are recorded, so a crash sends them again instead
/// of losing them (docs/decisions/0003-webhook-delivery.md, "Direct sends").
///
/// Rounds run every `pollInterval`, or at once when `wakeup` is signalled (after every API
/// write, and when a stream finishes while another due stream was waiting for it or for a
/// free slot).
public struct WebhookDelivery: Service {
    static let leaseName = "webhook-delivery"

    let store: any WebhookStore & LeaseStore
    let options: WebhookOptions
    let holder: String
    let clock: @Sendable () -> Int64
    let wakeup: WebhookWakeup
    let activity: RequestActivity
    let logger: Logger
    /// A factor in 0.5…1 applied to each backoff (injected so tests can fix it).
    let jitter: @Sendable () -> Double

    public init(store: any WebhookStore & LeaseStore, options: WebhookOptions, holder: String, clock: @escaping @Sendable () -> Int64,
                wakeup: WebhookWakeup, activity: RequestActivity = RequestActivity(), logger: Logger, jitter: @escaping @Sendable () -> Double = { Double.random(in: 0.5...1) }) {
        self.store = store
        self.options = options
        self.holder = holder
        self.clock = clock
        self.wakeup = wakeup
        self.activity = activity
        self.logger = logger
        self.jitter = jitter
    }

    public func run() async throws {
        // Deliveries run below the API's priority: see `BackgroundExecutor`.
        let background = BackgroundExecutor(name: "vessel-webhooks")
        let sender = WebhookSender(policy: DestinationPolicy(allowed: options.allowedNetworks), options: options, eventLoopGroup: background.eventLoopGroup)
        let state = LoopState()
        let recorder = AttemptRecorder(store: store)
        await withTaskExecutorPreference(background) {
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    await loop(&group, state: state, sender: sender, recorder: recorder)
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                state.stopping.store(true, ordering: .relaxed)
                wakeup.signal()
            }
        }
        await sender.shutdown()
        await background.shutdown()
        // Outside the cancelled task: store the cursors the last sends settled (so a restart
        // does not send them again), then release the lease so another replica takes over.
        let store = store, holder = holder, now = clock()
        let settled = state.shared.withLock { $0.reload ? [] : $0.cursorsToStore() }
        await Task {
            try? await store.queueDeliveries([], cursors: settled, now: now)
            try? await store.releaseLease(Self.leaseName, holder: holder)
        }.value
    }

    /// Rounds until cancelled or shut down; each stream to send gets a task in `group`.
    private func loop(_ group: inout DiscardingTaskGroup, state: LoopState, sender: WebhookSender, recorder: AttemptRecorder) async {
        var renewedAt: Int64?
        var scannedAt: ContinuousClock.Instant?
        while !Task.isCancelled && !state.stopping.load(ordering: .relaxed) {
            let now = clock()
            var more = false
            let fresh = renewedAt == nil
            if await holdLease(now: now, renewedAt: &renewedAt) {
                do {
                    let hooks = try await normal { try await store.webhookCursors() }
                    // On taking the lease, and after a failed write: start again from what the
                    // database says (sends not yet recorded then go out again).
                    if fresh || state.shared.withLock({ $0.reload }) {
                        let before = state.shared.withLock { $0.held }
                        let held = try await normal { try await store.heldStreams() }
                        state.shared.withLock { $0.reset(held: Self.held(held, since: before, now: $0.held)) }
                        scannedAt = nil
                    }
                    let from = state.shared.withLock { $0.follow(hooks) }
                    var events: [OutboxEvent] = []
                    if let from { events = try await normal { try await store.outboxEvents(after: from, limit: Self.roundSize) } }
                    more = events.count == Self.roundSize
                    let round = state.shared.withLock { $0.dispatch(events, to: hooks.map(\.subscription), now: now, concurrency: options.concurrency) }
                    for stream in round.start {
                        group.addTask {
                            await sendDirect(stream.key, stream.subscription, state: state, sender: sender, recorder: recorder)
                            streamEnded(state)
                        }
                    }
                    try await normal { try await store.queueDeliveries(round.rows, cursors: round.cursors, now: now) }
                    state.shared.withLock { $0.stored(round.cursors, epoch: round.epoch) }

                    // The row streams to start: after new rows, only the streams they were queued
                    // for (less those known to wait out a backoff); the full query of due streams
                    // at most once per poll interval, or when nothing new came (a backoff ended, a
                    // redelivery, a stream that had to wait). That query reads every pending row,
                    // and ran after every burst of writes: with a backlog it held a database
                    // thread for milliseconds each time, and promotions waited behind it. The
                    // same pass refreshes which streams hold back their new events.
                    let scan = round.rowStreams.isEmpty || scannedAt.map { $0.duration(to: .now) >= options.pollInterval } ?? true
                    let due: [(webhook: String, model: String)]
                    if scan {
                        let before = state.shared.withLock { $0.held }
                        due = try await normal { try await store.dueDeliveryGroups(now: now, limit: Self.roundSize) }
                        let held = try await normal { try await store.heldStreams() }
                        scannedAt = .now
                        more = more || due.count == Self.roundSize
                        state.shared.withLock { shared in
                            shared.held = Self.held(held, since: before, now: shared.held)
                            shared.retryAt = shared.retryAt.filter { $0.value > now }
                        }
                    } else {
                        due = state.shared.withLock { shared in round.rowStreams.filter { (shared.retryAt[$0.webhook + "\n" + $0.model] ?? 0) <= now } }
                    }
                    let subscriptions = Dictionary(hooks.map { ($0.subscription.id, $0.subscription) }, uniquingKeysWith: { a, _ in a })
                    // The round works through its due list as slots free up, without asking
                    // the database again, but never longer than the lease's renewal period.
                    let roundEnds = ContinuousClock.now + options.leaseTTL / 3
                    for stream in due {
                        guard let subscription = subscriptions[stream.webhook] else { continue }
                        while state.shared.withLock({ $0.streams.count >= options.concurrency }), ContinuousClock.now < roundEnds,
                              !Task.isCancelled, !state.stopping.load(ordering: .relaxed) {
                            await state.slotFreed.wait(upTo: .milliseconds(100))
                        }
                        let key = stream.webhook + "\n" + stream.model
                        let started = state.shared.withLock { shared in
                            guard shared.streams.count < options.concurrency, !shared.streams.contains(key) else { return false }
                            shared.streams.insert(key)
                            return true
                        }
                        guard started else {
                            state.backlog.store(true, ordering: .relaxed)
                            continue
                        }
                        group.addTask {
                            let retry = await deliver(subscription, stream.model, sender: sender, recorder: recorder)
                            state.shared.withLock { shared in
                                shared.retryAt[key] = retry
                                shared.streams.remove(key)
                            }
                            streamEnded(state)
                        }
                    }
                } catch where !Task.isCancelled {
                    state.shared.withLock { $0.reload = true }
                    logger.warning("webhook delivery round failed", metadata: ["error": "\(error)"])
                } catch {}
            }
            // A full round may have left due streams behind: the next one starts at once.
            if more { continue }
            await wakeup.wait(upTo: options.pollInterval)
            // Let a burst of writes settle so one round queues all of their events and the
            // streams send them back to back, instead of a round per write competing with the
            // writes themselves for the database and the CPU — except when a finishing stream
            // woke us for the streams that waited on it (`continuing`).
            if options.coalesce > .zero && !state.continuing.exchange(false, ordering: .relaxed) {
                try? await Task.sleep(for: options.coalesce)
            }
        }
    }

    /// The streams to hold back after reading `stored` (those with pending rows): those, and
    /// any that became held while the read ran (`now` less `before`), whose rows it may not
    /// have seen. A stream held before the read had its rows written before it, so the read
    /// tells whether they are all sent.
    static func held(_ stored: [(webhook: String, model: String)], since before: Set<String>, now: Set<String>) -> Set<String> {
        Set(stored.map { $0.webhook + "\n" + $0.model }).union(now.subtracting(before))
    }

    /// After a stream's task: frees its slot, and asks for another round only when a due
    /// stream had to wait for this one (or for a free slot); otherwise new events bring their
    /// own nudge.
    private func streamEnded(_ state: LoopState) {
        state.slotFreed.signal()
        if state.backlog.exchange(false, ordering: .relaxed) {
            state.continuing.store(true, ordering: .relaxed)
            wakeup.signal()
        }
    }

    /// Runs a database call on the default executor, at normal priority: a transaction holds
    /// a connection that API requests wait for, so it must not wait for the CPU behind them.
    private func normal<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await withTaskExecutorPreference(globalConcurrentExecutor, operation: body)
    }

    /// Takes or renews the lease (renewing every third of its lifetime).
    private func holdLease(now: Int64, renewedAt: inout Int64?) async -> Bool {
        let ttl = BackgroundJobs.micros(options.leaseTTL)
        if let last = renewedAt, now - last < ttl / 3 { return true }
        do {
            if try await normal({ try await store.acquireLease(Self.leaseName, holder: holder, now: now, ttl: ttl) }) {
                renewedAt = now
                return true
            }
        } catch {
            logger.warning("webhook delivery lease failed", metadata: ["error": "\(error)"])
        }
        renewedAt = nil
        return false
    }

    /// A direct stream's task: sends what the rounds hand it until nothing is left, or until a
    /// send fails (then the events handed to it meanwhile become rows too) or is not recorded.
    private func sendDirect(_ key: String, _ subscription: WebhookSubscription, state: LoopState, sender: WebhookSender, recorder: AttemptRecorder) async {
        while let work = state.shared.withLock({ $0.take(key) }) {
            let outcome = await send(work.deliveries, subscription, sender: sender, recorder: recorder)
            let leftover = state.shared.withLock { $0.settle(work, key: key, outcome) }
            guard outcome.recorded, !outcome.held else {
                if let leftover, !leftover.deliveries.isEmpty {
                    let written = (try? await recorder.record([], queue: leftover.deliveries)) != nil
                    state.shared.withLock { _ = $0.settle(leftover, key: key, DirectOutcome(retryAt: outcome.retryAt, recorded: written, held: false)) }
                }
                state.shared.withLock { $0.end(key) }
                return
            }
        }
    }

    /// Sends a stream's new events straight from the outbox, in order, until one fails; that
    /// one (with its attempt) and the rest of the stream are stored as delivery rows when the
    /// attempts are recorded.
    func send(_ deliveries: [PendingDelivery], _ subscription: WebhookSubscription, sender: WebhookSender, recorder: AttemptRecorder) async -> DirectOutcome {
        do {
            let progress = try await sendInOrder(deliveries, subscription, sender: sender, recorder: recorder)
            let failed = progress.unrecorded.last?.attempt.status == .failed
            try await recorder.record(progress.unrecorded, queue: failed ? Array(deliveries[progress.sent...]) : [])
            if failed { return DirectOutcome(retryAt: progress.stoppedAt, recorded: true, held: true) }
            // Cancelled part way: the rest was never sent, and the cursor must not pass it.
            return DirectOutcome(retryAt: nil, recorded: progress.sent == deliveries.count, held: false)
        } catch {
            logger.warning("webhook delivery failed", metadata: ["webhook": "\(subscription.id)", "error": "\(error)"])
            return DirectOutcome(retryAt: nil, recorded: false, held: false)
        }
    }

    /// Sends `deliveries` one after the other until an attempt fails, one is not yet due, or
    /// the task is cancelled. Attempts are recorded in groups through `recorder` (every
    /// `recordInterval` while a slow receiver works through them); the last group comes back
    /// unrecorded, for the caller to write with what belongs with it. `stoppedAt`: when the
    /// event it stopped at is due (a failure's backoff, or one not yet due).
    private func sendInOrder(_ deliveries: [PendingDelivery], _ subscription: WebhookSubscription, sender: WebhookSender,
                             recorder: AttemptRecorder) async throws -> (sent: Int, unrecorded: [AttemptRecord], stoppedAt: Int64?) {
        let signature = WebhookSignature(secret: subscription.secret)
        var records: [AttemptRecord] = []
        var lastRecorded = ContinuousClock.now
        for (index, delivery) in deliveries.enumerated() {
            guard delivery.nextAttemptAt <= clock() else { return (index, records, delivery.nextAttemptAt) }
            // Requests first: while the API is busy, sends take turns at `busySendRate`. A
            // shutdown ends the wait early; the event is then left for the next run, unsent.
            if let rate = options.busySendRate, rate > 0 { await activity.pace(every: .seconds(1) / rate) }
            if Task.isCancelled { return (index, records, nil) }
            let attempt = await attempt(delivery, subscription, signature: signature, sender: sender)
            records.append(AttemptRecord(delivery, attempt, id: "att_" + RandomID.hex128()))
            if attempt.status == .failed { return (index + 1, records, attempt.nextAttemptAt) }
            if lastRecorded.duration(to: .now) > Self.recordInterval {
                try await recorder.record(records)
                records = []
                lastRecorded = .now
            }
        }
        return (deliveries.count, records, nil)
    }

    /// Sends one stream's pending rows in order until it is empty or an attempt fails.
    /// Attempts are recorded in groups (after each batch, or every `recordInterval` while a
    /// slow receiver works through one) through `recorder`; a crash in between sends those
    /// events again, which at-least-once delivery allows and receivers dedupe by event id.
    /// Returns when the stream's next event is due when it stopped before the end (a failed
    /// attempt's backoff), else nil.
    func deliver(_ subscription: WebhookSubscription, _ model: String, sender: WebhookSender, recorder: AttemptRecorder) async -> Int64? {
        var retryAt: Int64?
        do {
            while !Task.isCancelled {
                let batch = try await normal { try await store.pendingDeliveries(webhook: subscription.id, model: model, limit: 100) }
                guard !batch.isEmpty else { return nil }
                let progress = try await sendInOrder(batch, subscription, sender: sender, recorder: recorder)
                retryAt = progress.stoppedAt
                try await recorder.record(progress.unrecorded)
                if retryAt != nil { return retryAt }
            }
        } catch where !Task.isCancelled {
            logger.warning("webhook delivery failed", metadata: ["webhook": "\(subscription.id)", "error": "\(error)"])
        } catch {}
        return retryAt
    }

    /// At most this many due streams are fetched per round.
    static let roundSize = 1000

    /// How long a stream's finished attempts may wait to be recorded while it keeps sending.
    static let recordInterval: Duration = .milliseconds(250)

    func attempt(_ delivery: PendingDelivery, _ subscription: WebhookSubscription, signature: WebhookSignature, sender: WebhookSender) async -> DeliveryAttempt {
        let started = ContinuousClock.now
        var code: Int?
        var failure: String?
        do {
            let body = try WebhookPayload.render(delivery, format: subscription.format)
            let status = try await sender.send(url: subscription.url, body: body, eventID: delivery.eventID, signature: signature, timestamp: clock() / 1_000_000)
            code = status
            if !(200..<300).contains(status) {
                failure = (300..<400).contains(status) ? "the receiver redirected (HTTP \(status)); redirects are not followed" : "the receiver answered HTTP \(status)"
            }
        } catch let error as VesselError {
            failure = error.message
        } catch {
            failure = Self.describe(error)
        }
        let latency = BackgroundJobs.micros(started.duration(to: .now))
        let at = clock()
        guard let failure else {
            return DeliveryAttempt(status: .delivered, at: at, responseCode: code, latencyMicros: latency, error: nil, nextAttemptAt: at)
        }
        let first = delivery.firstAttemptAt ?? at
        let window = BackgroundJobs.micros(options.retryWindow)
        if at - first >= window {
            return DeliveryAttempt(status: .dead, at: at, responseCode: code, latencyMicros: latency, error: failure, nextAttemptAt: at)
        }
        let next = min(at + backoff(afterAttempt: delivery.attempts + 1), first + window)
        return DeliveryAttempt(status: .failed, at: at, responseCode: code, latencyMicros: latency, error: failure, nextAttemptAt: next)
    }

    /// initialBackoff × 2^(n−1), at most maxBackoff, times the jitter factor.
    func backoff(afterAttempt n: Int) -> Int64 {
        let base = Double(BackgroundJobs.micros(options.initialBackoff))
        let cap = Double(BackgroundJobs.micros(options.maxBackoff))
        let delay = min(cap, base * Double(1 << min(max(n - 1, 0), 40)))
        return Int64(delay * min(1, max(0, jitter())))
    }

    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("deadlineExceeded") || text.contains("readTimeout") { return "the receiver did not answer in time" }
        if text.contains("connectTimeout") { return "connecting to the receiver timed out" }
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "the receiver refused the connection" }
        return "delivery failed: \(text.prefix(300))"
    }
}

/// The delivery loop's shared state: what `Streams` guards, whether a due stream could not
/// start, and whether to stop.
private final class LoopState: Sendable {
    let shared = Mutex(Streams())
    let backlog = Atomic<Bool>(false)
    /// Signalled whenever a stream's task ends.
    let slotFreed = WebhookWakeup()
    /// Set with the signal a finishing stream sends for the backlog: no coalescing pause.
    let continuing = Atomic<Bool>(false)
    let stopping = Atomic<Bool>(false)
}

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
    /// `Streams.epoch` when it was taken.
    var epoch: Int
}

/// Which streams have a task, which hold back their new events, and how far each
/// subscription's events have been handed out and settled.
struct Streams {
    /// Streams with a task (direct or rows), by "subscription\nmodel".
    var streams = Set<String>()
    /// Direct streams: what their task has still to send. A stream's new events join its
    /// running task here instead of becoming rows.
    var direct: [String: DirectWork] = [:]
    /// Streams that stopped at an event not yet due, with when it is: rounds after new rows
    /// skip them until then (the periodic full query still finds them).
    var retryAt: [String: Int64] = [:]
    /// Streams with pending rows (or about to have them): their new events are queued as rows.
    var held = Set<String>()
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
    mutating func reset(held: Set<String>) {
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
        -> (start: [(key: String, subscription: WebhookSubscription)], rows: [PendingDelivery], rowStreams: [(webhook: String, model: String)], cursors: [(webhook: String, cursor: Int64)], epoch: Int)
    {
        var start: [(key: String, subscription: WebhookSubscription)] = []
        var rows: [PendingDelivery] = []
        var rowStreams: [(webhook: String, model: String)] = []
        if let last = events.last?.seq {
            var queuedStreams = Set<String>()
            for subscription in subscriptions {
                guard let from = cursors[subscription.id], from < last else { continue }
                var touched = Set<String>()
                for event in events where event.seq > from && subscription.takes(event) {
                    let key = subscription.id + "\n" + event.model
                    let delivery = PendingDelivery.unsent(event, webhook: subscription.id, now: now)
                    if held.contains(key) || (direct[key] == nil && (streams.contains(key) || streams.count >= concurrency))
                        || direct[key].map({ $0.deliveries.count >= Self.queueLimit }) == true {
                        held.insert(key)
                        rows.append(delivery)
                        if queuedStreams.insert(key).inserted { rowStreams.append((subscription.id, event.model)) }
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
    mutating func take(_ key: String) -> DirectWork? {
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
    mutating func settle(_ work: DirectWork, key: String, _ outcome: DirectOutcome) -> DirectWork? {
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
        let subscription = String(key.prefix { $0 != "\n" })
        for from in work.rounds {
            guard let count = unsettled[subscription]?[from] else { continue }
            unsettled[subscription]?[from] = count > 1 ? count - 1 : nil
            if unsettled[subscription]?.isEmpty == true { unsettled[subscription] = nil }
        }
        return leftover
    }

    /// A direct stream's task stops early (after a failure).
    mutating func end(_ key: String) {
        direct[key] = nil
        streams.remove(key)
    }
}
