/// A periodic piece of maintenance, run by `BackgroundJobs` on one replica at a time.
public struct BackgroundJob: Sendable {
    /// The lease name; unique per job.
    public let name: String
    /// How often the job runs (and half the lease's lifetime).
    public let interval: Duration
    /// Does one round of work at `now` (microseconds since the epoch); returns how many
    /// things it handled, for the log.
    public let work: @Sendable (_ now: Int64) async throws -> Int

    public init(name: String, interval: Duration, work: @escaping @Sendable (_ now: Int64) async throws -> Int) {
        self.name = name
        self.interval = interval
        self.work = work
    }
}
