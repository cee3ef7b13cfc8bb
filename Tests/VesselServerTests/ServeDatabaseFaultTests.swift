import AsyncHTTPClient
import Foundation
import Testing
import VesselClient
import VesselTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `vessel serve` on a private PostgreSQL the test crashes and restarts (DisposablePostgres,
/// never the shared instance): SIGTERM with the database down still exits, a start waits for
/// a database that comes up, the durability settings show in the log and on /metrics, and a
/// background job's lease held by a killed replica passes to the other one once it expires.
@Suite(.serialized, .enabled(if: VesselExecutable.path != nil && DisposablePostgres.isAvailable,
                             Comment(rawValue: "needs the vessel executable and: " + DisposablePostgres.requirement)),
       .timeLimit(.minutes(4)))
struct ServeDatabaseFaultTests {
    /// With the default backend timeout, and with one far longer than the shutdown's: the exit
    /// must not wait for calls on the dead database to fail by themselves.
    @Test(arguments: ["5s", "120s"])
    func sigtermWithTheDatabaseDownExitsWithinTheShutdownTimeout(backendTimeout: String) async throws {
        try await DisposablePostgres.with { pg in
            let serve = try await ServeProcess(arguments: ["--database", pg.url, "--log-level", "notice", "--shutdown-timeout", "3s", "--job-interval", "1s",
                                                           "--backend-timeout", backendTimeout])
            defer { serve.stop() }
            // The jobs and webhook delivery hold their leases: on shutdown they try to release them.
            try await ServeShutdownTests.eventually("the background jobs hold their leases") {
                (try? await pg.psql("SELECT count(*) FROM leases WHERE holder <> '' AND name IN ('upload-expiry', 'outbox-retention', 'webhook-delivery')")) == "3\n"
            }
            try await pg.crash()
            // A request that needs the database is in flight (it waits for a connection).
            let api = serve.client()
            let inFlight = Task { _ = try? await api.whoami() }
            defer { inFlight.cancel() }
            let signalled = ContinuousClock.now
            serve.signal(SIGTERM)
            let exit = await serve.waitForExit(timeout: .seconds(20))
            let took = signalled.duration(to: .now)
            await api.shutdown()
            #expect(exit == ServeProcess.Exit(status: 0, signalled: false), "exit \(String(describing: exit)) after \(took); log: \(ServeShutdownTests.logTail(serve))")
            #expect(took < .seconds(20))
            #expect(try ServeShutdownTests.log(serve).contains("shutting down (SIGTERM)"))
        }
    }

    @Test func aStartWaitsForTheDatabaseToComeUp() async throws {
        try await DisposablePostgres.with { pg in
            try await pg.crash()
            let dir = TempDir.make("vessel-startup-wait")
            async let starting = ServeProcess(dataDir: dir, arguments: ["--database", pg.url, "--startup-timeout", "120s"])
            // The first attempt failed and said so: now the database comes up.
            try await ServeShutdownTests.eventually("the start waits for the database") {
                ((try? String(contentsOfFile: "\(dir).log", encoding: .utf8)) ?? "").contains("waiting for the database PostgreSQL")
            }
            try await pg.resume()
            let serve = try await starting
            defer { serve.stop() }
            let api = serve.client()
            let me = try await api.whoami()
            await api.shutdown()
            #expect(me.principal == "admin")
        }
    }

    @Test func aDatabaseWithFsyncOffIsWarnedAboutAndCounted() async throws {
        try await DisposablePostgres.with { pg in
            let serve = try await ServeProcess(arguments: ["--database", pg.url])
            defer { serve.stop() }
            let log = try ServeShutdownTests.log(serve)
            #expect(log.contains("PostgreSQL runs with fsync=off: a crash of the database server can lose"), "\(log.suffix(2000))")
            #expect(!log.contains("synchronous_commit=off"))
            let metrics = try await Self.metrics(serve)
            #expect(metrics.contains("vessel_database_durability_risk{setting=\"fsync\"} 1.0"), "\(metrics)")
            #expect(metrics.contains("vessel_database_durability_risk{setting=\"synchronous_commit\"} 0.0"), "\(metrics)")
        }
    }

    @Test func aKilledReplicasJobLeaseIsTakenOverOnceItExpires() async throws {
        try await DisposablePostgres.with { pg in
            let dir = TempDir.make("vessel-lease")
            // Jobs every second: a lease lasts two intervals.
            let arguments = ["--database", pg.url, "--job-interval", "1s"]
            async let startA = ServeProcess(dataDir: dir, arguments: arguments, log: "\(dir)-a.log")
            async let startB = ServeProcess(dataDir: dir, arguments: arguments, log: "\(dir)-b.log")
            let (a, b) = try await (startA, startB)
            defer { a.stop(); b.stop() }
            let pids = [try #require(a.pid), try #require(b.pid)]
            var holder = ""
            try await ServeShutdownTests.eventually("a replica holds the upload-expiry lease") {
                holder = (try? await pg.psql("SELECT holder FROM leases WHERE name = 'upload-expiry'")) ?? ""
                return pids.contains { holder.contains("-\($0)-") }
            }
            let (victim, survivor) = holder.contains("-\(pids[0])-") ? (a, b) : (b, a)
            let survivorPID = try #require(survivor.pid)
            victim.kill()
            let killed = ContinuousClock.now
            try await ServeShutdownTests.eventually("the other replica takes the lease over") {
                (try? await pg.psql("SELECT holder FROM leases WHERE name = 'upload-expiry'"))?.contains("-\(survivorPID)-") ?? false
            }
            // It waited for the lease to expire (two intervals), at most, not for a release.
            #expect(killed.duration(to: .now) < .seconds(30))
            let metrics = try await Self.metrics(survivor)
            #expect(metrics.contains("vessel_job_runs_total{job=\"upload-expiry\",outcome=\"ran\"}"), "\(metrics)")
        }
    }

    static func metrics(_ serve: ServeProcess) async throws -> String {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let response = try await client.execute(HTTPClientRequest(url: "\(serve.url)/metrics"), timeout: .seconds(10))
            let text = String(buffer: try await response.body.collect(upTo: 4 << 20))
            try await client.shutdown()
            return text
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
