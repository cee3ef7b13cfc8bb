import Foundation
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs background work (webhook delivery) on its own threads at the lowest scheduling class
/// (Linux `SCHED_IDLE`), so the kernel gives API requests the CPU first — a request thread
/// that wakes up takes the core at once instead of waiting out the background thread's slice,
/// which `nice` alone does not ensure — and deliveries catch up in the gaps: a promotion's
/// latency does not depend on how many webhooks it sets off. `SCHED_IDLE` threads still get
/// a small share of a saturated CPU, so deliveries slow down under load but never stop.
///
/// Two parts: a task executor (one thread) for the delivery loop's own code, handed to
/// `withTaskExecutorPreference`, and an event loop group (one thread) for its HTTP client's
/// I/O. Database calls do not belong here: see `WebhookDelivery.normal`.
final class BackgroundExecutor: TaskExecutor, @unchecked Sendable {
    /// The niceness given to the threads when `SCHED_IDLE` cannot be set (0 is normal;
    /// higher runs later).
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

    /// Lowers the calling thread's priority: on Linux the scheduling policy and the nice
    /// value belong to each thread, and pid 0 means the caller. Lowering needs no privilege;
    /// failure leaves the normal priority: slower promotions under load, not wrong ones.
    private static func lowerPriority() {
        #if os(Linux)
        var parameters = sched_param()
        parameters.sched_priority = 0
        // SCHED_IDLE is 5 on Linux (glibc declares it only under _GNU_SOURCE).
        if sched_setscheduler(0, 5, &parameters) != 0 {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
        }
        #endif
    }
}
