/// The metrics a Vessel server exports on `/metrics`, by name, on an injected registry.
public struct ServerMetrics: Sendable {
    public let registry: MetricsRegistry

    static let requests = "vessel_http_requests_total"
    static let duration = "vessel_http_request_duration_seconds"
    static let bytesIn = "vessel_http_request_bytes_total"
    static let bytesOut = "vessel_http_response_bytes_total"
    static let uploadsInFlight = "vessel_uploads_in_flight"
    static let uploadsCompleted = "vessel_upload_sessions_completed_total"
    static let jobRuns = "vessel_job_runs_total"

    public init(registry: MetricsRegistry = MetricsRegistry()) {
        self.registry = registry
        registry.declare(Self.requests, kind: "counter", help: "HTTP requests answered, by method and status.")
        registry.declare(Self.duration, kind: "histogram", help: "Time to answer an HTTP request (until the response head; streamed bodies continue), by method.",
                         buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60])
        registry.declare(Self.bytesIn, kind: "counter", help: "Request body bytes received (by Content-Length).")
        registry.declare(Self.bytesOut, kind: "counter", help: "Response body bytes sent (by Content-Length).")
        registry.declare(Self.uploadsInFlight, kind: "gauge", help: "Blob and chunk uploads being received right now.")
        registry.declare(Self.uploadsCompleted, kind: "counter", help: "Upload sessions completed into a verified blob.")
        registry.declare(Self.jobRuns, kind: "counter", help: "Background job runs, by job and outcome (ran, skipped: another replica holds the lease, failed).")
        registry.set(Self.uploadsInFlight, [], 0)
    }

    func request(method: String, status: Int, seconds: Double, bytesIn: Int, bytesOut: Int) {
        registry.add(Self.requests, [("method", method), ("status", String(status))])
        registry.observe(Self.duration, [("method", method)], seconds)
        if bytesIn > 0 { registry.add(Self.bytesIn, [], Double(bytesIn)) }
        if bytesOut > 0 { registry.add(Self.bytesOut, [], Double(bytesOut)) }
    }

    /// Runs `body` counted as one upload in flight.
    func upload<T>(_ body: () async throws -> T) async rethrows -> T {
        registry.add(Self.uploadsInFlight, [], 1)
        defer { registry.add(Self.uploadsInFlight, [], -1) }
        return try await body()
    }

    func sessionCompleted() { registry.add(Self.uploadsCompleted) }

    func jobRun(_ job: String, outcome: String) {
        registry.add(Self.jobRuns, [("job", job), ("outcome", outcome)])
    }
}
