import Foundation
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs background work (webhook delivery) on its own threads at a lower scheduling priority
/// (`nice` 10) than the threads that answer API requests, so on a busy machine the kernel
/// gives requests the CPU first and deliveries catch up in the gaps: a promotion's latency
/// does not depend on how many webhooks it sets off.
///
/// Two parts: a task executor (one thread) for the delivery loop's own code, handed to
/// `withTaskExecutorPreference`, and an event loop group (one thread) for its HTTP client's
/// I/O. Database calls do not belong here: see `WebhookDelivery.normal`.
final class BackgroundExecutor: TaskExecutor, @unchecked Sendable {
    /// The niceness given to the threads (0 is normal; higher runs later).
    static let niceness: Int32 = 10

    let eventLoopGroup: MultiThreadedEventLoopGroup
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var jobs: [UnownedJob] = []
    private var stopped = false

    /// - Parameter name: the thread's name (Foundation's; Linux tools show the creator's).
    init(name: String) {
        eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        eventLoopGroup.next().execute { Self.lowerPriority() }
        // The thread keeps the executor alive until `shutdown` lets it finish.
        let thread = Thread { self.work() }
        thread.name = name
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        guard !stopped else {
            // Stragglers after shutdown still run, at normal priority.
            condition.unlock()
            let executor = asUnownedTaskExecutor()
            DispatchQueue.global().async { job.runSynchronously(on: executor) }
            return
        }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        Self.lowerPriority()
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }

    /// Stops the thread once the queued jobs ran, and the event loop group.
    func shutdown() async {
        stop()
        try? await eventLoopGroup.shutdownGracefully()
    }

    private func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    /// Lowers the calling thread's priority: on Linux the nice value belongs to each thread,
    /// and `setpriority(PRIO_PROCESS, 0, …)` sets the caller's. Failure leaves the normal
    /// priority: slower promotions under load, not wrong ones.
    private static func lowerPriority() {
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
        #endif
    }
}
