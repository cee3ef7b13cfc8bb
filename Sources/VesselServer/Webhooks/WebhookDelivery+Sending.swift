import Foundation
import VesselCore
import VesselMetadata

/// The send paths: a direct stream's events straight from the outbox, a row stream's pending
/// rows, and the single attempt both are made of.
extension WebhookDelivery {
    /// A direct stream's task: sends what the rounds hand it until nothing is left, or until a
    /// send fails (then the events handed to it meanwhile become rows too) or is not recorded.
    func sendDirect(_ key: DeliveryStreamKey, _ subscription: WebhookSubscription, state: DeliveryLoopState, sender: WebhookSender, recorder: AttemptRecorder) async {
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
            failure = DeliveryFailure.describe(error)
        }
        let latency = BackgroundJobs.micros(started.duration(to: .now))
        let at = clock()
        guard let failure else {
            return DeliveryAttempt(status: .delivered, at: at, responseCode: code, latencyMicros: latency, error: nil, nextAttemptAt: at)
        }
        let retry = retryPolicy.afterFailure(at: at, firstAttemptAt: delivery.firstAttemptAt, attempts: delivery.attempts)
        return DeliveryAttempt(status: retry.status, at: at, responseCode: code, latencyMicros: latency, error: failure, nextAttemptAt: retry.nextAttemptAt)
    }
}
