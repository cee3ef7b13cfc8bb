/// How webhook deliveries behave; the defaults suit production, tests shorten the times.
public struct WebhookOptions: Sendable {
    /// Networks deliveries may reach although the destination policy refuses them by default
    /// (`vessel serve --webhook-allow 10.0.0.0/8`, repeatable).
    public var allowedNetworks: [CIDR] = []
    /// PEM CA certificate(s) trusted for HTTPS destinations besides the system store
    /// (`vessel serve --ca-cert`, docs/tls.md); certificates are always verified.
    public var caCertPath: String?
    /// How often the delivery loop looks for new events without being nudged.
    public var pollInterval: Duration = .seconds(1)
    public var connectTimeout: Duration = .seconds(5)
    /// The whole attempt, from connecting to the end of the response.
    public var responseTimeout: Duration = .seconds(10)
    /// At most this many response bytes are read; the rest is discarded.
    public var maxResponseBytes: Int = 64 << 10
    /// Retries continue this long after the first attempt, then the delivery is dead.
    public var retryWindow: Duration = .seconds(24 * 3600)
    /// The first retry waits about this long; each further one twice as long (with jitter).
    public var initialBackoff: Duration = .seconds(1)
    public var maxBackoff: Duration = .seconds(3600)
    /// The delivery lease's lifetime; renewed every third of it while this replica delivers.
    public var leaseTTL: Duration = .seconds(30)
    /// On shutdown, storing the last cursors and releasing the lease may take this long; past
    /// it (the database is down) they are abandoned: the events are sent again, the lease expires.
    public var releaseTimeout: Duration = .seconds(2)
    /// After a nudge, the loop waits this long before its round, so a burst of changes is
    /// delivered in one round (events still leave within about this much of their commit).
    public var coalesce: Duration = .milliseconds(50)
    /// At most this many (subscription, model) streams are delivered at once.
    public var concurrency: Int = 32
    /// While the API is answering requests, at most this many sends a second over all
    /// subscriptions (`vessel serve --webhook-busy-rate`; nil or 0: no limit). When the API is idle
    /// deliveries go at full speed. See `RequestActivity`.
    public var busySendRate: Int? = 100

    public init() {}
}
