import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing
import VesselCore
@testable import VesselServer

/// A clock the test moves by hand (microseconds since the epoch).
final class TestClock: Sendable {
    private let now = Atomic<Int64>(Timestamp.micros(Date()))
    var closure: @Sendable () -> Int64 { { self.now.load(ordering: .relaxed) } }
    func advance(seconds: Int64) { now.add(seconds * 1_000_000, ordering: .relaxed) }
}

@Suite struct BackgroundJobsTests {
    @Test func expiredSessionsLoseTheirChunksAndRows() async throws {
        let clock = TestClock()
        let bytes = UploadSessionAPITests.payload(mebibytes: 3)
        try await APIHarness.with(configure: { $0.uploadChunkSize = 1 << 20 }, clock: clock.closure) { harness, client in
            let session = try await UploadSessionAPITests.start(client, bytes, status: .created)
            for index in 0..<2 { try await UploadSessionAPITests.putChunk(client, session, bytes, index) }
            let chunkDir = "\(harness.dir)/blobs/uploads/\(session.uploadId)"
            // A folder of chunks with no session row (a crash between deleting chunks and row).
            let orphan = "\(harness.dir)/blobs/uploads/upl_orphan"
            try FileManager.default.createDirectory(atPath: orphan, withIntermediateDirectories: true)
            let jobs = harness.registry.backgroundJobs(logger: Logger(label: "test"))
            let expiry = try #require(jobs.jobs.first { $0.name == "upload-expiry" })
            #expect(await jobs.runOnce(expiry) == .ran(1))
            #expect(FileManager.default.fileExists(atPath: chunkDir) && !FileManager.default.fileExists(atPath: orphan))

            clock.advance(seconds: 24 * 3600 + 1)
            try await client.execute(uri: "\(UploadSessionAPITests.base)/\(session.uploadId)", method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("expired"))
            }
            #expect(await jobs.runOnce(expiry) == .ran(1))
            #expect(!FileManager.default.fileExists(atPath: chunkDir))
            #expect(try await harness.registry.store.uploadSession(id: session.uploadId) == nil)
            // Starting again makes a fresh session.
            let fresh = try await UploadSessionAPITests.start(client, bytes, status: .created)
            #expect(fresh.uploadId != session.uploadId && fresh.received.isEmpty)
        }
    }

    @Test func onlyTheLeaseHolderRunsAJobUntilItsLeaseExpires() async throws {
        let clock = TestClock()
        try await APIHarness.with(clock: clock.closure) { harness, _ in
            let runs = Atomic<Int>(0)
            let job = BackgroundJob(name: "count", interval: .seconds(60)) { _ in
                runs.add(1, ordering: .relaxed)
                return 1
            }
            let store = harness.registry.store
            let logger = Logger(label: "test")
            let a = BackgroundJobs(jobs: [job], leases: store, holder: "replica-a", clock: clock.closure, metrics: harness.registry.metrics, logger: logger)
            let b = BackgroundJobs(jobs: [job], leases: store, holder: "replica-b", clock: clock.closure, metrics: harness.registry.metrics, logger: logger)
            #expect(await a.runOnce(job) == .ran(1))
            #expect(await b.runOnce(job) == .skipped)
            clock.advance(seconds: 60)
            #expect(await a.runOnce(job) == .ran(1))
            #expect(await b.runOnce(job) == .skipped)
            // Replica a stops renewing: two intervals later b takes over, and a is locked out.
            clock.advance(seconds: 121)
            #expect(await b.runOnce(job) == .ran(1))
            #expect(await a.runOnce(job) == .skipped)
            #expect(runs.load(ordering: .relaxed) == 3)
            let metrics = harness.registry.metrics.registry
            #expect(metrics.value(ServerMetrics.jobRuns, [("job", "count"), ("outcome", "ran")]) == 3)
            #expect(metrics.value(ServerMetrics.jobRuns, [("job", "count"), ("outcome", "skipped")]) == 3)
        }
    }

    @Test func outboxRetentionKeepsRecentEvents() async throws {
        let clock = TestClock()
        try await APIHarness.with(clock: clock.closure) { harness, client in
            _ = try await APIHarness.push(client, model: "acme/old", files: ["a": [1]])
            clock.advance(seconds: 8 * 86_400)
            _ = try await APIHarness.push(client, model: "acme/new", files: ["b": [2]])
            let before = try await harness.registry.store.eventCount()
            let jobs = harness.registry.backgroundJobs(logger: Logger(label: "test"))
            let retention = try #require(jobs.jobs.first { $0.name == "outbox-retention" })
            #expect(await jobs.runOnce(retention) == .ran(3))
            #expect(try await harness.registry.store.eventCount() == before - 3)
        }
    }

    @Test func serviceRunsJobsAndStopsOnShutdown() async throws {
        try await APIHarness.with(configure: { $0.jobInterval = .milliseconds(20) }) { harness, _ in
            let jobs = harness.registry.backgroundJobs(logger: Logger(label: "test"))
            let task = Task { try await jobs.run() }
            let metrics = harness.registry.metrics.registry
            func runs() -> Double { metrics.value(ServerMetrics.jobRuns, [("job", "upload-expiry"), ("outcome", "ran")]) }
            for _ in 0..<500 where runs() < 2 { try await Task.sleep(for: .milliseconds(20)) }
            task.cancel()
            try await task.value
            #expect(runs() >= 2)
            // Leases were released on the way out.
            #expect(try await harness.registry.store.leaseHolder("upload-expiry", now: harness.registry.clock()) == nil)
        }
    }
}

@Suite struct MetricsEndpointTests {
    @Test func metricsNeedNoTokenAndCountRequests() async throws {
        try await APIHarness.with { _, client in
            _ = try await APIHarness.push(client, model: "acme/m", files: ["w": [UInt8](repeating: 7, count: 1000)])
            try await client.execute(uri: "/api/v1/models/acme/nope", method: .get, headers: APIHarness.auth) { _ in }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                let text = String(buffer: response.body)
                #expect(text.contains("# TYPE vessel_http_requests_total counter"))
                #expect(text.contains("vessel_http_requests_total{method=\"PUT\",status=\"201\"} 1"))
                #expect(text.contains("vessel_http_requests_total{method=\"GET\",status=\"404\"} 1"))
                #expect(text.contains("vessel_http_request_duration_seconds_bucket{method=\"POST\",le=\"+Inf\"} 2"))
                #expect(text.contains("vessel_http_request_bytes_total"))
                #expect(text.contains("vessel_uploads_in_flight 0"))
                #expect(text.contains("# TYPE vessel_job_runs_total counter"))
                #expect(!text.contains(APIHarness.adminToken))
            }
        }
    }
}
