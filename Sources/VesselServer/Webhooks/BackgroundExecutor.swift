import Foundation
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs background work (webhook delivery) on a thread of its own at a lower scheduling
/// priority (`nice` 10) than the threads that answer API requests, so on a busy machine the
/// kernel gives requests the CPU first and deliveries catch up in the gaps: a promotion's
/// latency does not depend on how many webhooks it sets off.
///
/// One NIO event loop thread is both the task executor handed to `withTaskExecutorPreference`
/// (the delivery loop's own code) and the event loop group of its HTTP client (the sends'
/// I/O): a send's answer resumes the waiting task on the thread that read it, without waking
/// another thread for every send. Database calls do not belong here: see
/// `WebhookDelivery.normal`.
final class BackgroundExecutor: TaskExecutor, Sendable {
    /// The niceness given to the thread (0 is normal; higher runs later).
    static let niceness: Int32 = 10

    let eventLoopGroup: MultiThreadedEventLoopGroup
    private let loop: any EventLoop
    /// Set by `shutdown`; held while a job is handed to the loop, so none reaches a loop that
    /// is shutting down.
    private let stopped = Mutex(false)

    init() {
        eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = eventLoopGroup.next()
        loop.execute { Self.lowerPriority() }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let handed = stopped.withLock { stopped in
            if !stopped { loop.execute { job.runSynchronously(on: executor) } }
            return !stopped
        }
        // Stragglers after shutdown still run, at normal priority.
        if !handed { DispatchQueue.global().async { job.runSynchronously(on: executor) } }
    }

    /// Stops the event loop once the jobs queued on it ran; later jobs run elsewhere.
    func shutdown() async {
        stopped.withLock { $0 = true }
        try? await eventLoopGroup.shutdownGracefully()
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
