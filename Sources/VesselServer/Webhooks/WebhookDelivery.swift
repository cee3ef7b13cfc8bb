import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VesselCore
import VesselMetadata

/// Delivers outbox events to webhook subscriptions, at least once and in order per
/// (subscription, model), on the one replica that holds the `webhook-delivery` lease.
///
/// Each round moves the subscriptions' cursors over new events (queueing the matches), then
/// starts a task for every (subscription, model) stream whose oldest pending event is due; a
/// stream's task sends its events one after the other and stops at the first failure, which
/// waits out its backoff while holding back the later events of that stream. Streams run
/// concurrently, so a hanging receiver delays only its own. Rounds run every `pollInterval`,
/// or at once when `wakeup` is signalled (after every API write, and when a stream finishes
/// while another due stream was waiting for it or for a free slot).
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
        // Release outside the cancelled task so another replica takes over at once.
        let store = store, holder = holder
        await Task { try? await store.releaseLease(Self.leaseName, holder: holder) }.value
    }

    /// Rounds until cancelled or shut down; each due stream gets a task in `group`.
    private func loop(_ group: inout DiscardingTaskGroup, state: LoopState, sender: WebhookSender, recorder: AttemptRecorder) async {
        var renewedAt: Int64?
        var scannedAt: ContinuousClock.Instant?
        while !Task.isCancelled && !state.stopping.load(ordering: .relaxed) {
            let now = clock()
            var more = false
            if await holdLease(now: now, renewedAt: &renewedAt) {
                do {
                    var queued: [(webhook: String, model: String)] = []
                    for _ in 0..<10 {
                        let batch = try await normal { try await store.enqueueDeliveries(now: now, limit: 1000) }
                        queued += batch.groups
                        if batch.events < 1000 { break }
                    }
                    // The streams to start: after new events, only the streams they were queued
                    // for (less those known to wait out a backoff); the full query of due streams
                    // at most once per poll interval, or when nothing new came (a backoff ended, a
                    // redelivery, a stream that had to wait). That query reads every pending row,
                    // and ran after every burst of writes: with a backlog it held a database
                    // thread for milliseconds each time, and promotions waited behind it.
                    let scan = queued.isEmpty || scannedAt.map { $0.duration(to: .now) >= options.pollInterval } ?? true
                    let due: [(webhook: String, model: String)]
                    if scan {
                        due = try await normal { try await store.dueDeliveryGroups(now: now, limit: Self.roundSize) }
                        scannedAt = .now
                        more = due.count == Self.roundSize
                        state.retryAt.withLock { $0 = $0.filter { $0.value > now } }
                    } else {
                        due = state.retryAt.withLock { retryAt in queued.filter { (retryAt[$0.webhook + "\n" + $0.model] ?? 0) <= now } }
                    }
                    // One read of the (few) subscriptions per round instead of one per stream.
                    let subscriptions = due.isEmpty ? [:] : Dictionary(try await normal { try await store.webhooks() }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
                    // The round works through its due list as slots free up, without asking
                    // the database again, but never longer than the lease's renewal period.
                    let roundEnds = ContinuousClock.now + options.leaseTTL / 3
                    for stream in due {
                        guard let subscription = subscriptions[stream.webhook] else { continue }
                        while state.streams.withLock({ $0.count >= options.concurrency }), ContinuousClock.now < roundEnds,
                              !Task.isCancelled, !state.stopping.load(ordering: .relaxed) {
                            await state.slotFreed.wait(upTo: .milliseconds(100))
                        }
                        let key = stream.webhook + "\n" + stream.model
                        let started = state.streams.withLock { running in
                            guard running.count < options.concurrency, !running.contains(key) else { return false }
                            running.insert(key)
                            return true
                        }
                        guard started else {
                            state.backlog.store(true, ordering: .relaxed)
                            continue
                        }
                        group.addTask {
                            let retry = await deliver(subscription, stream.model, sender: sender, recorder: recorder)
                            state.retryAt.withLock { $0[key] = retry }
                            state.streams.withLock { _ = $0.remove(key) }
                            state.slotFreed.signal()
                            // Another round only when a due stream had to wait for this one
                            // (or for a free slot); otherwise new events bring their own nudge.
                            if state.backlog.exchange(false, ordering: .relaxed) {
                                state.continuing.store(true, ordering: .relaxed)
                                wakeup.signal()
                            }
                        }
                    }
                } catch where !Task.isCancelled {
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

    /// Sends one stream's pending events in order until it is empty or an attempt fails.
    /// Attempts are recorded in groups (after each batch, or every `recordInterval` while a
    /// slow receiver works through one) through `recorder`; a crash in between sends those
    /// events again, which at-least-once delivery allows and receivers dedupe by event id.
    /// Returns when the stream's next event is due when it stopped before the end (a failed
    /// attempt's backoff), else nil.
    func deliver(_ subscription: WebhookSubscription, _ model: String, sender: WebhookSender, recorder: AttemptRecorder) async -> Int64? {
        let webhook = subscription.id
        let signature = WebhookSignature(secret: subscription.secret)
        var retryAt: Int64?
        do {
            while !Task.isCancelled {
                let batch = try await normal { try await store.pendingDeliveries(webhook: webhook, model: model, limit: 100) }
                guard !batch.isEmpty else { return nil }
                var records: [AttemptRecord] = []
                var lastRecorded = ContinuousClock.now
                var finished = false
                for delivery in batch {
                    guard delivery.nextAttemptAt <= clock(), !Task.isCancelled else {
                        retryAt = delivery.nextAttemptAt
                        finished = true
                        break
                    }
                    // Requests first: a send waits (at most `yieldLimit`) until none is in flight.
                    await activity.quiet(upTo: Self.yieldLimit)
                    let attempt = await attempt(delivery, subscription, signature: signature, sender: sender)
                    records.append(AttemptRecord(delivery, attempt, id: "att_" + RandomID.hex128()))
                    if attempt.status == .failed {
                        retryAt = attempt.nextAttemptAt
                        finished = true
                        break
                    }
                    if lastRecorded.duration(to: .now) > Self.recordInterval {
                        try await recorder.record(records)
                        records = []
                        lastRecorded = .now
                    }
                }
                try await recorder.record(records)
                if finished { return retryAt }
            }
        } catch where !Task.isCancelled {
            logger.warning("webhook delivery failed", metadata: ["webhook": "\(webhook)", "error": "\(error)"])
        } catch {}
        return retryAt
    }

    /// How long a send waits for the API to have no request in flight. Deliveries go out in
    /// the gaps between requests; a server never idle that long still sends one event per
    /// stream each time.
    static let yieldLimit: Duration = .milliseconds(10)

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

/// The delivery loop's shared state: which streams have a task, whether a due stream could
/// not start, and whether to stop.
private final class LoopState: Sendable {
    let streams = Mutex(Set<String>())
    /// Streams that stopped at an event not yet due, with when it is: rounds after new events
    /// skip them until then (the periodic full query still finds them).
    let retryAt = Mutex([String: Int64]())
    let backlog = Atomic<Bool>(false)
    /// Signalled whenever a stream's task ends.
    let slotFreed = WebhookWakeup()
    /// Set with the signal a finishing stream sends for the backlog: no coalescing pause.
    let continuing = Atomic<Bool>(false)
    let stopping = Atomic<Bool>(false)
}
