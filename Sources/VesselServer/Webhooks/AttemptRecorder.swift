import VesselMetadata

/// Writes delivery attempts in group commits: the attempts handed in while one write is in
/// flight all go into the next transaction. Many streams delivering at once therefore cost a
/// few transactions instead of one per event, which keeps the single SQLite writer (and
/// PostgreSQL's WAL) free for the requests that cause the events.
actor AttemptRecorder {
    private let store: any WebhookStore
    private var queued: [(records: [AttemptRecord], queue: [PendingDelivery], waiter: CheckedContinuation<Void, any Error>)] = []
    private var writing = false

    init(store: any WebhookStore) {
        self.store = store
    }

    /// Returns once `records` (and the pending rows `queue`, see `WebhookStore.recordAttempts`)
    /// are written, with whatever else was queued alongside them.
    func record(_ records: [AttemptRecord], queue: [PendingDelivery] = []) async throws {
        guard !records.isEmpty || !queue.isEmpty else { return }
        try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
            queued.append((records, queue, waiter))
            if !writing {
                writing = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !queued.isEmpty {
            let batch = queued
            queued = []
            do {
                // At normal priority, like every database call of the delivery loop: a
                // transaction must not wait for the CPU behind the API (`WebhookDelivery.normal`).
                let store = store, records = batch.flatMap(\.records), queue = batch.flatMap(\.queue)
                try await withTaskExecutorPreference(globalConcurrentExecutor) { try await store.recordAttempts(records, queue: queue) }
                for entry in batch { entry.waiter.resume() }
            } catch {
                for entry in batch { entry.waiter.resume(throwing: error) }
            }
        }
        writing = false
    }
}
