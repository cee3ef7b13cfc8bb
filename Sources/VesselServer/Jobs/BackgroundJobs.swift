import Logging
import ServiceLifecycle
import VesselMetadata

/// Runs each `BackgroundJob` at its interval, but only while holding the job's lease in the
/// database, so of several replicas exactly one does the work.
///
/// The lease lasts two intervals and its holder renews it on every run: a replica keeps a job
/// while it lives, and another takes over at most two intervals after it died. A graceful
/// shutdown releases the leases so another replica takes over at once; a release that does not
/// finish within `releaseTimeout` (the database is down) is abandoned, and the lease expires.
public struct BackgroundJobs: Service {
    public enum Outcome: Sendable, Equatable {
        case ran(Int)
        /// Another holder has the lease.
        case skipped
        case failed(String)
    }

    let jobs: [BackgroundJob]
    let leases: any LeaseStore
    /// This replica's identity in the `leases` table.
    let holder: String
    let clock: @Sendable () -> Int64
    let metrics: ServerMetrics?
    let logger: Logger
    /// How long a shutdown waits for each lease's release.
    let releaseTimeout: Duration

    public init(jobs: [BackgroundJob], leases: any LeaseStore, holder: String, clock: @escaping @Sendable () -> Int64, metrics: ServerMetrics?, logger: Logger,
                releaseTimeout: Duration = .seconds(2)) {
        self.releaseTimeout = releaseTimeout
        self.jobs = jobs
        self.leases = leases
        self.holder = holder
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for job in jobs {
                group.addTask { await loop(job) }
            }
        }
    }

    private func loop(_ job: BackgroundJob) async {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                _ = await runOnce(job)
                try await Task.sleep(for: job.interval)
            }
        }
        // Release outside the cancelled task: database calls refuse to start in a cancelled
        // task, and another replica should take over at once. Bounded: with the database down
        // the release would wait for the pool, and the shutdown with it.
        let leases = leases, name = job.name, holder = holder
        await bestEffort(within: releaseTimeout) { try? await leases.releaseLease(name, holder: holder) }
    }

    /// Runs `job` once if this replica holds (or can take) its lease.
    public func runOnce(_ job: BackgroundJob) async -> Outcome {
        let now = clock()
        let ttl = Self.micros(job.interval) * 2
        let outcome: Outcome
        do {
            if try await leases.acquireLease(job.name, holder: holder, now: now, ttl: ttl) {
                let handled = try await job.work(now)
                if handled > 0 { logger.info("background job ran", metadata: ["job": "\(job.name)", "handled": "\(handled)"]) }
                outcome = .ran(handled)
            } else {
                outcome = .skipped
            }
        } catch where Task.isCancelled {
            outcome = .failed("cancelled by shutdown")
        } catch {
            logger.warning("background job failed", metadata: ["job": "\(job.name)", "error": "\(error)"])
            outcome = .failed("\(error)")
        }
        let label = switch outcome {
        case .ran: "ran"
        case .skipped: "skipped"
        case .failed: "failed"
        }
        metrics?.jobRun(job.name, outcome: label)
        return outcome
    }

    static func micros(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
    }
}
