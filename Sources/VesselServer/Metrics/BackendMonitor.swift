import Logging
import Synchronization
import VesselCore

/// Where the backends report their failures (`BackendPolicy.report`): each is counted in
/// `vessel_backend_errors_total{backend}`, and logged once per interval per backend with the
/// number since the last line, so an outage under load writes a line every 30 s, not one per
/// failed request.
public final class BackendMonitor: Sendable {
    private let metrics: ServerMetrics
    private let logger: Logger
    private let throttles: Mutex<[BackendKind: LogThrottle]>

    public init(metrics: ServerMetrics, logger: Logger, interval: Duration = .seconds(30)) {
        self.metrics = metrics
        self.logger = logger
        self.throttles = Mutex(Dictionary(uniqueKeysWithValues: BackendKind.allCases.map { ($0, LogThrottle(interval: interval)) }))
    }

    public func report(_ failure: BackendFailure) {
        metrics.backendError(failure.backend)
        guard let count = throttles.withLock({ $0[failure.backend]?.record() }) else { return }
        logger.warning("\(failure.backend.rawValue) calls are failing (logged at most once per \(interval(failure.backend)))", metadata: [
            "backend": "\(failure.backend.rawValue)", "failures": "\(count)", "transient": "\(failure.transient)", "last_error": "\(failure.message)",
        ])
    }

    /// The policy the server opens its backends with: `timeout` on each call, failures here.
    public func policy(timeout: Duration?) -> BackendPolicy {
        BackendPolicy(timeout: timeout) { [self] failure in report(failure) }
    }

    private func interval(_ backend: BackendKind) -> Duration {
        throttles.withLock { $0[backend]?.interval } ?? .seconds(30)
    }
}
