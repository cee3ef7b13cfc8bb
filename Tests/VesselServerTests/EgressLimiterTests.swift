import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import VesselCore
@testable import VesselServer

/// `vessel serve --egress-limit` (issue 30, benchmarks): one token bucket over every blob byte sent.
@Suite struct EgressLimiterTests {
    final class FakeClock: Sendable {
        let seconds = Mutex<Double>(100)
        func callAsFunction() -> Double { seconds.withLock { $0 } }
        func advance(_ by: Double) { seconds.withLock { $0 += by } }
    }

    /// With an injected clock: the burst goes at once, then every byte waits its share of the
    /// rate, and concurrent reservations queue behind each other.
    @Test func theBucketPacesReservations() {
        let clock = FakeClock()
        let bucket = EgressLimiter(bytesPerSecond: 1000, burst: 500, now: { clock() })
        #expect(bucket.reserve(500) == 0)
        #expect(abs(bucket.reserve(1000) - 1.0) < 1e-9)
        // A second sender at the same instant waits behind the first.
        #expect(abs(bucket.reserve(500) - 1.5) < 1e-9)
        clock.advance(1.5)
        #expect(bucket.reserve(0) == 0)
        // An idle spell refills no more than the burst.
        clock.advance(100)
        #expect(bucket.reserve(500) == 0)
        #expect(abs(bucket.reserve(100) - 0.1) < 1e-9)
        // Over a long window the bytes granted match the rate.
        let paced = EgressLimiter(bytesPerSecond: 1_000_000, burst: 100_000, now: { clock() })
        var granted = 0
        var waited = 0.0
        for _ in 0..<100 {
            let wait = paced.reserve(64 << 10)
            clock.advance(wait)
            waited += wait
            granted += 64 << 10
        }
        #expect(abs(Double(granted - 100_000) / 1_000_000 - waited) < 0.001)
    }

    @Test func theFlagParsesUnits() throws {
        #expect(try EgressLimiter.parse("100MB") == 100_000_000)
        #expect(try EgressLimiter.parse("100MB/s") == 100_000_000)
        #expect(try EgressLimiter.parse("64MiB") == 64 << 20)
        #expect(try EgressLimiter.parse("1GB") == 1_000_000_000)
        #expect(try EgressLimiter.parse("5000") == 5000)
        for bad in ["", "0", "fast", "-5MB", "10TB"] {
            #expect(throws: VesselError.self, "\(bad)") { try EgressLimiter.parse(bad) }
        }
    }

    /// Through a server: two concurrent downloads of 400 KB at 1 MB/s (burst 100 KB) cannot
    /// finish in less than 0.7 s. Only a lower bound: a loaded machine can be slower, never faster.
    @Test func aLimitedServerSendsNoFasterThanItsLimit() async throws {
        let blob: [UInt8] = (0..<400_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await APIHarness.with(configure: { $0.egressLimit = 1_000_000 }) { harness, client in
            #expect(harness.registry.metrics.egress?.rate == 1_000_000)
            _ = try await APIHarness.push(client, model: "acme/m", files: ["w.bin": blob])
            let uri = "/api/v1/models/acme/m/blobs/\(APIHarness.digest(blob))"
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<2 {
                    group.addTask { try await client.execute(uri: uri, method: .get, headers: APIHarness.auth) { $0.body.readableBytes } }
                }
                for try await count in group { #expect(count == blob.count) }
            }
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= .milliseconds(700), "800 KB at 1 MB/s took \(elapsed)")
            #expect(harness.registry.metrics.registry.value(ServerMetrics.blobBytesServed) == 800_000)
        }
    }
}
