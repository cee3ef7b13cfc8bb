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
    let retryPolicy: RetryPolicy

    public init(store: any WebhookStore & LeaseStore, options: WebhookOptions, holder: String, clock: @escaping @Sendable () -> Int64,
                wakeup: WebhookWakeup, activity: RequestActivity = RequestActivity(), logger: Logger, jitter: @escaping @Sendable () -> Double = { Double.random(in: 0.5...1) }) {
        self.store = store
        self.options = options
        self.holder = holder
        self.clock = clock
        self.wakeup = wakeup
        self.activity = activity
        self.logger = logger
        retryPolicy = RetryPolicy(options: options, jitter: jitter)
    }

    public func run() async throws {
        // Deliveries run below the API's priority: see `BackgroundExecutor`.
        let background = BackgroundExecutor(name: "vessel-webhooks")
        let sender = WebhookSender(policy: DestinationPolicy(allowed: options.allowedNetworks), options: options, eventLoopGroup: background.eventLoopGroup)
        let state = DeliveryLoopState()
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
        // Bounded: with the database down these would wait for the pool, and the shutdown with
        // them; unstored cursors mean those events are sent again, and the lease expires.
        let store = store, holder = holder, now = clock()
        let settled = state.shared.withLock { $0.reload ? [] : $0.cursorsToStore() }
        await bestEffort(within: options.releaseTimeout) {
            try? await store.queueDeliveries([], cursors: settled, now: now)
            try? await store.releaseLease(Self.leaseName, holder: holder)
        }
    }

    /// Rounds until cancelled or shut down; each stream to send gets a task in `group`.
    private func loop(_ group: inout DiscardingTaskGroup, state: DeliveryLoopState, sender: WebhookSender, recorder: AttemptRecorder) async {
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
                    let due: [DeliveryStreamKey]
                    if scan {
                        let before = state.shared.withLock { $0.held }
                        due = try await normal { try await store.dueDeliveryGroups(now: now, limit: Self.roundSize) }.map(DeliveryStreamKey.init)
                        let held = try await normal { try await store.heldStreams() }
                        scannedAt = .now
                        more = more || due.count == Self.roundSize
                        state.shared.withLock { shared in
                            shared.held = Self.held(held, since: before, now: shared.held)
                            shared.retryAt = shared.retryAt.filter { $0.value > now }
                        }
                    } else {
                        due = state.shared.withLock { shared in round.rowStreams.filter { (shared.retryAt[$0] ?? 0) <= now } }
                    }
                    let subscriptions = Dictionary(hooks.map { ($0.subscription.id, $0.subscription) }, uniquingKeysWith: { a, _ in a })
                    // The round works through its due list as slots free up, without asking
                    // the database again, but never longer than the lease's renewal period.
                    let roundEnds = ContinuousClock.now + options.leaseTTL / 3
                    for key in due {
                        guard let subscription = subscriptions[key.webhook] else { continue }
                        while state.shared.withLock({ $0.streams.count >= options.concurrency }), ContinuousClock.now < roundEnds,
                              !Task.isCancelled, !state.stopping.load(ordering: .relaxed) {
                            await state.slotFreed.wait(upTo: .milliseconds(100))
                        }
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
                            let retry = await deliver(subscription, key.model, sender: sender, recorder: recorder)
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
    static func held(_ stored: [(webhook: String, model: String)], since before: Set<DeliveryStreamKey>, now: Set<DeliveryStreamKey>) -> Set<DeliveryStreamKey> {
        Set(stored.map(DeliveryStreamKey.init)).union(now.subtracting(before))
    }

    /// After a stream's task: frees its slot, and asks for another round only when a due
    /// stream had to wait for this one (or for a free slot); otherwise new events bring their
    /// own nudge.
    func streamEnded(_ state: DeliveryLoopState) {
        state.slotFreed.signal()
        if state.backlog.exchange(false, ordering: .relaxed) {
            state.continuing.store(true, ordering: .relaxed)
            wakeup.signal()
        }
    }

    /// Runs a database call on the default executor, at normal priority: a transaction holds
    /// a connection that API requests wait for, so it must not wait for the CPU behind them.
    func normal<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
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

    /// At most this many due streams are fetched per round.
    static let roundSize = 1000
}

/// The delivery loop's shared state: what `DeliveryStreams` guards, whether a due stream could
/// not start, and whether to stop.
final class DeliveryLoopState: Sendable {
    let shared = Mutex(DeliveryStreams())
    let backlog = Atomic<Bool>(false)
    /// Signalled whenever a stream's task ends.
    let slotFreed = WebhookWakeup()
    /// Set with the signal a finishing stream sends for the backlog: no coalescing pause.
    let continuing = Atomic<Bool>(false)
    let stopping = Atomic<Bool>(false)
}
