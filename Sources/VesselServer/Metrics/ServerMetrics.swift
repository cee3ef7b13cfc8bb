import Prometheus
import VesselCore

/// The metrics a Vessel server exports on `/metrics`, by name, on a registry the server owns.
///
/// The registry is swift-prometheus' `PrometheusCollectorRegistry`, an ordinary instance:
/// nothing here bootstraps swift-metrics' global `MetricsSystem`, so several servers in one
/// process (the tests) each count their own requests (decision 0011).
public struct ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    static let requests = "vessel_http_requests_total"
    static let duration = "vessel_http_request_duration_seconds"
    static let bytesIn = "vessel_http_request_bytes_total"
    static let bytesOut = "vessel_http_response_bytes_total"
    static let uploadsInFlight = "vessel_uploads_in_flight"
    static let uploadsCompleted = "vessel_upload_sessions_completed_total"
    static let jobRuns = "vessel_job_runs_total"
    static let backendErrors = "vessel_backend_errors_total"
    static let driftedNodes = "vessel_deployment_drifted_nodes"

    /// Families rendered with HELP and TYPE even before their first sample (the labeled ones:
    /// the registry knows a family only once it has a series).
    static let families: [(name: String, type: String, help: String)] = [
        (requests, "counter", "HTTP requests answered, by method and status."),
        (duration, "histogram", "Time to answer an HTTP request (until the response head; streamed bodies continue), by method."),
        (bytesIn, "counter", "Request body bytes received (by Content-Length)."),
        (bytesOut, "counter", "Response body bytes sent (by Content-Length)."),
        (uploadsInFlight, "gauge", "Blob and chunk uploads being received right now."),
        (uploadsCompleted, "counter", "Upload sessions completed into a verified blob."),
        (jobRuns, "counter", "Background job runs, by job and outcome (ran, skipped: another replica holds the lease, failed)."),
        (backendErrors, "counter", "Calls that failed because a backend could not be reached, did not answer in time or refused the server's configuration, by backend (database, storage)."),
        (driftedNodes, "gauge", "Nodes and endpoints of a deployment judged drifted (serving another digest than their slot's past --drift-grace), by model and env; set by the replica running the drift job."),
    ] + blobFamilies + peerFamilies
    static let durationBuckets: [Double] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    // The unlabeled series, made once; the labeled ones are looked up per sample (the registry
    // returns the existing series for a name and label set).
    private let received: Counter
    private let sent: Counter
    private let inFlight: Gauge
    private let completed: Counter
    /// Blob egress (`ServerMetrics+Blobs.swift`).
    let served: Counter
    let servedModels: ModelSeriesLabels
    /// `--egress-limit`: paces every blob byte `countingBody` sends; nil sends at full speed.
    public var egress: EgressLimiter? = nil

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        received = registry.makeCounter(descriptor: Self.descriptor(Self.bytesIn))
        sent = registry.makeCounter(descriptor: Self.descriptor(Self.bytesOut))
        inFlight = registry.makeGauge(descriptor: Self.descriptor(Self.uploadsInFlight))
        completed = registry.makeCounter(descriptor: Self.descriptor(Self.uploadsCompleted))
        served = registry.makeCounter(descriptor: Self.blobDescriptor(Self.blobBytesServed))
        servedModels = ModelSeriesLabels(limit: Self.modelSeriesLimit)
        inFlight.set(to: 0)
        // Both series from the start, so a rate over them reads 0 rather than nothing.
        for backend in BackendKind.allCases { _ = backendErrorCounter(backend) }
    }

    func request(method: String, status: Int, seconds: Double, bytesIn: Int, bytesOut: Int) {
        registry.makeCounter(descriptor: Self.descriptor(Self.requests), labels: [("method", method), ("status", String(status))]).increment()
        registry.makeValueHistogram(descriptor: Self.descriptor(Self.duration), labels: [("method", method)], buckets: Self.durationBuckets).record(seconds)
        if bytesIn > 0 { received.increment(by: Int64(bytesIn)) }
        if bytesOut > 0 { sent.increment(by: Int64(bytesOut)) }
    }

    /// Runs `body` counted as one upload in flight.
    func upload<T>(_ body: () async throws -> T) async rethrows -> T {
        inFlight.increment(by: 1)
        defer { inFlight.decrement(by: 1) }
        return try await body()
    }

    func sessionCompleted() { completed.increment() }

    func jobRun(_ job: String, outcome: String) {
        registry.makeCounter(descriptor: Self.descriptor(Self.jobRuns), labels: [("job", job), ("outcome", outcome)]).increment()
    }

    /// The drift job's counts: `drifted` by "owner/name env" (`DriftRound.drifted`).
    func driftedNodes(_ drifted: [String: Int]) {
        for (key, count) in drifted {
            let parts = key.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            registry.makeGauge(descriptor: Self.descriptor(Self.driftedNodes), labels: [("model", parts[0]), ("env", parts[1])]).set(to: Double(count))
        }
    }

    /// One more call that failed for `backend`'s sake (`BackendMonitor`).
    func backendError(_ backend: BackendKind) {
        backendErrorCounter(backend).increment()
    }

    private func backendErrorCounter(_ backend: BackendKind) -> Counter {
        registry.makeCounter(descriptor: Self.descriptor(Self.backendErrors), labels: [("backend", backend.rawValue)])
    }

    /// The full name as `metricName` (no namespace or unit parts), so the names stay greppable.
    private static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: families.first { $0.name == name }?.help ?? "")
    }
}
