/// The two backends a server depends on, by the names `/readyz` and `/metrics` use.
public enum BackendKind: String, Sendable, CaseIterable {
    /// The metadata database (SQLite or PostgreSQL).
    case database
    /// Blob storage (the data directory or an S3 bucket).
    case storage
}

/// A backend call that failed for the backend's sake, not the request's: the backend could not
/// be reached, broke the connection, did not answer within the deadline, or refused the
/// server's configuration. Each backend classifies its own client library's errors into this
/// at its edge (the only code that knows them) and throws `error`; the HTTP layer turns that
/// into 503 `unavailable`, with `Retry-After` when the failure is transient.
public struct BackendFailure: Sendable, CustomStringConvertible {
    public let backend: BackendKind
    /// True when waiting may help (unreachable, restarting, timed out); false for a permanent
    /// misconfiguration (wrong credentials, no such bucket or database) that an operator must fix.
    public let transient: Bool
    public let message: String

    /// The `Retry-After` of a transient failure: long enough for a restarting backend to come
    /// back or a replaced connection pool to connect, short enough that a client retrying
    /// after it does not sit idle long once the backend answers again.
    public static let retryAfterSeconds = 2

    public init(_ backend: BackendKind, transient: Bool, _ message: String) {
        self.backend = backend
        self.transient = transient
        self.message = message
    }

    /// The error thrown to the caller: `unavailable`, retryable when transient.
    public var error: VesselError {
        VesselError(.unavailable, message, retryAfter: transient ? Self.retryAfterSeconds : nil)
    }

    public var description: String { "\(backend.rawValue) (\(transient ? "transient" : "permanent")): \(message)" }
}

/// How a backend bounds and reports its calls (`vessel serve --backend-timeout`).
public struct BackendPolicy: Sendable {
    /// The deadline of each database lease and statement, and of each object-store call (until
    /// its answer's head; a streamed body is not bounded by it). Nil: no deadline of Vessel's
    /// own (tools and tests that open a backend directly).
    public var timeout: Duration?
    /// Told of every `BackendFailure` the backend throws (the server counts them on
    /// `/metrics` and logs them once per interval).
    public var report: @Sendable (BackendFailure) -> Void

    public init(timeout: Duration?, report: @escaping @Sendable (BackendFailure) -> Void = { _ in }) {
        self.timeout = timeout
        self.report = report
    }

    /// No deadline, no reporting.
    public static let unbounded = BackendPolicy(timeout: nil)

    /// Reports `failure` and returns its error, for `throw policy.fail(…)`.
    public func fail(_ failure: BackendFailure) -> VesselError {
        report(failure)
        return failure.error
    }
}

/// When a failure that repeats (a backend that stays unreachable) is logged: the first at once,
/// then at most once per `interval`, each line counting the failures since the last one.
public struct LogThrottle: Sendable {
    public let interval: Duration
    private var lastLogged: ContinuousClock.Instant?
    private var unlogged = 0

    public init(interval: Duration = .seconds(30)) {
        self.interval = interval
    }

    /// Records one failure at `now`. Returns how many failures a log line written now stands
    /// for (this one and those kept quiet before it), or nil when the caller stays quiet.
    public mutating func record(now: ContinuousClock.Instant = .now) -> Int? {
        unlogged += 1
        if let last = lastLogged, last.duration(to: now) < interval { return nil }
        lastLogged = now
        defer { unlogged = 0 }
        return unlogged
    }

    /// Ends a run of failures (the backend answers again): returns the failures not yet logged
    /// and starts afresh, so the next failure is logged at once.
    public mutating func reset() -> Int {
        defer { unlogged = 0; lastLogged = nil }
        return unlogged
    }

    /// True while a run of failures is going on (one was recorded since the last reset).
    public var failing: Bool { lastLogged != nil }
}
