import Foundation
import Synchronization
import Testing
import VesselCore
import VesselSigning
import VesselTestSupport
@testable import VesselStorage

#if canImport(Glibc)
import Glibc
#endif

/// Issue 22's second fault test: the S3 gateway (`radosgw`) stops in the middle of a chunked
/// upload and starts again; the push waits, resumes its upload session and completes, and
/// nothing partial is visible meanwhile (no version, no blob).
///
/// Only a gateway is stopped, never the Ceph OSD (its objects live in RAM) nor the gateway the
/// other suites share: `scripts/services.sh start-extra-rgw PORT` starts a second radosgw on the
/// shared cluster for this test alone, and `stop-extra-rgw PORT` kills it (SIGKILL, a crash).
/// The server stores through that gateway; the test watches the bucket through the shared one,
/// which sees the same objects and upload sessions.
@Suite(.serialized, .enabled(if: VesselExecutable.path != nil && ExtraGateway.isAvailable, Comment(rawValue: ExtraGateway.requirement)),
       .timeLimit(.minutes(5)))
struct GatewayRestartTests {
    /// Set once the push process has ended.
    final class Finished: Sendable {
        private let value = Atomic<Bool>(false)
        func set() { value.store(true, ordering: .releasing) }
        var isSet: Bool { value.load(ordering: .acquiring) }
    }

    static let size = 256 << 20
    static let chunk = 5 << 20
    /// How long the gateway stays down: the fault, not a wait for something. Longer than a
    /// chunk's own retries last without --retry-for (five attempts, each failing at the 1 s
    /// backend timeout while the server's S3 client tries to connect, about 7 s in all).
    static let outage = Duration.seconds(15)

    @Test func gatewayKilledMidUploadThePushResumesAndNothingPartialIsVisible() async throws {
        let s3 = try #require(S3ServeTests.s3)
        let shared = try S3Location(parsing: try S3ServeTests.isolatedURL(s3.url))
        let (probe, _) = try await S3BlobStore.open(shared, credentials: S3Credentials(accessKey: s3.access, secretKey: s3.secret))
        let folder = TempDir.make("vessel-gateway-model")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var gateway: ExtraGateway?
        do {
            let extra = try await ExtraGateway.start()
            gateway = extra
            // The server's storage: the same bucket and prefix, through the extra gateway.
            let storage = "s3://\(shared.bucket)/\(shared.prefix)?endpoint=http://127.0.0.1:\(extra.port)&region=\(shared.region)"
            let serve = try await ServeProcess(arguments: ["--storage", storage, "--upload-chunk-size", "5MiB", "--backend-timeout", "1s"],
                                               environment: ["AWS_ACCESS_KEY_ID": s3.access, "AWS_SECRET_ACCESS_KEY": s3.secret])
            defer { serve.stop() }
            do {
                try await Self.run(serve: serve, gateway: extra, probe: probe, folder: folder)
            } catch {
                Issue.record("server log: \(ServeShutdownTests.logTail(serve))")
                throw error
            }
        } catch {
            try? await gateway?.stop()
            await DatabaseCrashUnderLoadTests.empty(probe, shared)
            throw error
        }
        try await gateway?.stop()
        await DatabaseCrashUnderLoadTests.empty(probe, shared)
    }

    static func run(serve: ServeProcess, gateway: ExtraGateway, probe: S3BlobStore, folder: String) async throws {
        // Up to three pushes of new content: one whose upload the kill lands in the middle of is
        // the test. Another only means the whole upload finished between two looks at the bucket.
        for attempt in 1...3 {
            try TempDir.writeFile("\(folder)/big.bin", count: size, seed: UInt64(attempt) &* 7919 &+ UInt64(getpid()))
            try TempDir.writeFile("\(folder)/config.json", count: 200, seed: UInt64(attempt))
            let big = try FileSystemBlobStore.hashFile("\(folder)/big.bin", size: UInt64(size))
            let config = try FileSystemBlobStore.hashFile("\(folder)/config.json", size: 200)
            let manifest = try Manifest(entries: [ManifestEntry(path: "big.bin", size: UInt64(size), digest: big),
                                                  ManifestEntry(path: "config.json", size: 200, digest: config)])
            let model = "acme/gateway-\(attempt)"
            if try await pushAcrossAGatewayCrash(serve: serve, gateway: gateway, probe: probe, folder: folder, model: model, blob: big, manifest: manifest) {
                return
            }
        }
        Issue.record("three uploads of 256 MiB each finished before the gateway could be killed")
    }

    /// Runs one push and kills the gateway once a chunk is stored; false when the upload had
    /// finished by then (nothing was tested).
    static func pushAcrossAGatewayCrash(serve: ServeProcess, gateway: ExtraGateway, probe: S3BlobStore, folder: String, model: String,
                                        blob: Digest, manifest: Manifest) async throws -> Bool {
        let finished = Finished()
        return try await withThrowingTaskGroup(of: ProcessResult?.self) { group in
            group.addTask {
                let result = try await CLI.run(["push", folder, "--model", model, "--json", "--retry-for", "2m"], environment: serve.env)
                finished.set()
                return result
            }
            defer { group.cancelAll() }

            // The first chunk is stored in the session's multipart upload: kill the gateway.
            var session = ""
            var before: [Int] = []
            var killed = ContinuousClock.now
            try await ServeShutdownTests.eventually("a chunk of the upload is stored", within: .seconds(120)) {
                for id in try await probe.sessionIDs() {
                    let chunks = try await probe.storedChunks(id)
                    if !chunks.isEmpty {
                        gateway.kill()
                        killed = ContinuousClock.now
                        (session, before) = (id, chunks)
                        return true
                    }
                }
                return finished.isSet
            }
            try await gateway.stop()
            let stored = try await probe.size(of: blob)
            if finished.isSet || session.isEmpty || stored != nil {
                let result = try await group.next() ?? nil
                #expect(result?.status == 0, "\(result?.stderr ?? "")")
                try await gateway.start()
                return false
            }
            #expect(before.count < size / chunk + 1, "chunks stored before the kill: \(before)")

            // The push waits; nothing partial is visible: no blob object, no version.
            let api = serve.client()
            do {
                try await ServeShutdownTests.eventually("the server meets the stopped gateway", within: .seconds(120)) {
                    BackendOutageTests.sample(try await ServeDatabaseFaultTests.metrics(serve), #"vessel_backend_errors_total{backend="storage"}"#) > 0
                }
                #expect(!finished.isSet, "the push ended while the gateway was down")
                #expect(try await probe.size(of: blob) == nil, "the blob is visible before the upload completed")
                #expect(try await probe.sessionIDs() == [session])
                let kept = try await probe.storedChunks(session)
                #expect(Set(before).isSubset(of: Set(kept)) && kept.count < size / chunk + 1, "chunks before the kill \(before), now \(kept)")
                let versions = try await api.versions(try ModelName(model), filter: VersionFilter()).items
                #expect(versions.isEmpty, "versions before the push completed: \(versions.map(\.version))")
                let latest = try await BackendOutageTests.call("\(serve.url)/api/v1/models/\(model)/latest")
                #expect(latest.status == 404, "\(latest)")
                let read = try await BackendOutageTests.call("\(serve.url)/api/v1/models/\(model)/blobs/\(blob)")
                #expect(read.status != 200, "the blob was readable before the upload completed: \(read.status)")
            } catch {
                await api.shutdown()
                throw error
            }
            await api.shutdown()

            // The outage outlasts a chunk's own retries: only the push's --retry-for carries it
            // over. Then the gateway comes back, the same session continues and the push completes.
            let held = killed.duration(to: .now)
            if held < outage { try await Task.sleep(for: outage - held) }
            #expect(!finished.isSet, "the push ended while the gateway was down")
            try await gateway.start()
            let result = try #require(try await group.next() ?? nil)
            try #require(result.status == 0, "\(result.stdout) \(result.stderr)")
            let reply = try result.json()
            #expect(reply["version"] as? Int == 1)
            #expect(reply["digest"] as? String == RootDigest.of(manifest).description)
            #expect(reply["state"] as? String == "ready")
            #expect(reply["bytes_uploaded"] as? Int == size + 200, "\(reply)")
            #expect(try await probe.size(of: blob) == UInt64(size))
            #expect(try await probe.sessionIDs().isEmpty)

            // It pulls back byte for byte.
            let target = TempDir.make("vessel-gateway-pull") + "/out"
            defer { try? FileManager.default.removeItem(atPath: (target as NSString).deletingLastPathComponent) }
            let pull = try await CLI.run(["pull", "\(model):1", target, "--cache-dir", target + "-cache", "--json"], environment: serve.env)
            #expect(pull.status == 0, "\(pull.stderr)")
            #expect(try pull.json()["digest"] as? String == RootDigest.of(manifest).description)
            #expect(FileManager.default.contentsEqual(atPath: "\(folder)/big.bin", andPath: "\(target)/big.bin"))
            return true
        }
    }
}

/// A second radosgw on the shared Ceph cluster (`scripts/services.sh start-extra-rgw`), on a
/// port of its own, that one test may kill and start again.
final class ExtraGateway: Sendable {
    let port: Int

    /// The shared gateway's endpoint port and services folder, as `scripts/services.sh start-rgw`
    /// was run with (`VESSEL_RGW_PORT` is the port of `VESSEL_TEST_S3_ENDPOINT`).
    static var shared: (port: Int, directory: String)? {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["VESSEL_TEST_S3_URL"], let location = try? S3Location(parsing: url),
              let port = URLComponents(string: location.endpoint)?.port else { return nil }
        return (port, env["VESSEL_SERVICES_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp/vessel-services")
    }

    /// Whether one can run: the shared cluster started by scripts/services.sh runs here, radosgw
    /// is installed, and the tests run as root (as the cluster's daemons do).
    static let isAvailable: Bool = {
        guard getuid() == 0, S3ServeTests.s3 != nil, let shared,
              FileManager.default.isExecutableFile(atPath: "/usr/bin/radosgw") else { return false }
        return FileManager.default.fileExists(atPath: "\(shared.directory)/rgw-\(shared.port)/ceph.conf")
    }()

    static let requirement = "needs the vessel executable, root, and the Ceph cluster of scripts/services.sh start-rgw (VESSEL_TEST_S3_URL) running here"

    private init(port: Int) {
        self.port = port
    }

    /// Starts one on a free port below the ephemeral range (so no outgoing connection takes the
    /// port while the gateway is down); returns once it answers.
    static func start() async throws -> ExtraGateway {
        var lastError = ""
        for _ in 0..<3 {
            let gateway = ExtraGateway(port: quietPort())
            do {
                try await gateway.start()
                return gateway
            } catch {
                lastError = "\(error)"
            }
        }
        throw TestFailure("the extra gateway did not start: \(lastError)")
    }

    func start() async throws { try await script("start-extra-rgw") }

    /// Kills it (SIGKILL) and returns once it has exited.
    func stop() async throws { try await script("stop-extra-rgw") }

    /// SIGKILL at once, from this process: a crash at this very moment. `stop()` then waits.
    func kill() {
        guard let shared = Self.shared,
              let text = try? String(contentsOfFile: "\(shared.directory)/rgw-\(shared.port)/run/client.rgw.extra-\(port).pid", encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 else { return }
        _ = Glibc.kill(pid, SIGKILL)
    }

    private func script(_ command: String) async throws {
        guard let shared = Self.shared else { throw TestFailure(Self.requirement) }
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VESSEL_") }
        env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        env["VESSEL_SERVICES_DIR"] = shared.directory
        env["VESSEL_RGW_PORT"] = String(shared.port)
        let result = try await runProcess("/bin/bash", [CLI.packageRoot.appendingPathComponent("scripts/services.sh").path, command, String(port)], environment: env)
        guard result.status == 0 else { throw TestFailure("scripts/services.sh \(command) \(port): \(result.stderr)") }
    }

    /// A loopback port in 20000..<30000 nobody listens on.
    private static func quietPort() -> Int {
        while true {
            let port = Int.random(in: 20000..<30000)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if bound == 0 { return port }
        }
    }
}
