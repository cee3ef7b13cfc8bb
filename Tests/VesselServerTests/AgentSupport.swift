import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import Synchronization
import VesselCore
import VesselTestSupport
@testable import VesselStorage

#if canImport(Glibc)
import Glibc
#endif

/// A `vessel agent` process for the agent's end-to-end tests: the built binary with a clean
/// environment, its output in a log file, `/health/version` on a free port.
final class AgentProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let log: String
    let dir: String

    /// Starts `vessel agent acme/m --env prod-eu --dir DIR --listen 127.0.0.1:PORT ARGUMENTS`.
    init(server: String, token: String, dir: String, arguments: [String]) throws {
        port = CLI.freePort()
        self.dir = dir
        log = "\(dir).agent-\(port).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        defer { try? output.close() }
        process.executableURL = URL(fileURLWithPath: try VesselExecutable.require())
        process.arguments = ["agent", "acme/m", "--env", "prod-eu", "--dir", dir, "--listen", "127.0.0.1:\(port)", "--log-level", "info"] + arguments
        process.environment = AgentProcess.environment(server: server, token: token)
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    static func environment(server: String, token: String) -> [String: String] {
        ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "XDG_CONFIG_HOME": "/nonexistent-vessel-config",
         "VESSEL_SERVER": server, "VESSEL_TOKEN": token]
    }

    var url: String { "http://127.0.0.1:\(port)" }

    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// `/health/version`, nil while it does not answer.
    func health() async -> [String: Any]? {
        guard let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: url + "/health/version"), timeout: .seconds(10)),
              response.status.code == 200,
              let body = try? await response.body.collect(upTo: 1 << 20)
        else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
    }

    /// Waits (at most `timeout`) until `/health/version` satisfies `predicate`; fails quoting the
    /// last answer and the agent's log.
    @discardableResult
    func waitFor(_ what: String, timeout: Duration = .seconds(90), _ predicate: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Any]?
        while ContinuousClock.now < deadline {
            if let answer = await health() {
                last = answer
                if predicate(answer) { return answer }
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("the agent never reached: \(what); last /health/version: \(last.map { "\($0)" } ?? "none"); log:\n\(logText.suffix(3000))")
    }

    /// SIGKILL, and waits for it.
    func kill() {
        if process.isRunning { _ = Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// SIGTERM, and waits for the agent to finish — at most a minute: an agent whose shutdown
    /// hangs is killed and said so, rather than holding the test run for ever.
    func stop() {
        if process.isRunning { process.terminate() }
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning && ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning {
            FileHandle.standardError.write(Data("vessel agent (pid \(process.processIdentifier)) did not stop within 60 s of SIGTERM; killed\n".utf8))
            kill()
        }
        process.waitUntilExit()
    }

    deinit { kill() }

    /// Where `DIR/current` points (`versions/<hex>`), nil without a link.
    var current: String? { try? FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/current") }
}

/// `vessel agent … --once`: its exit status and output.
func agentOnce(server: String, token: String, dir: String, _ arguments: [String]) async throws -> ProcessResult {
    try await runProcess(try VesselExecutable.require(), ["agent", "acme/m", "--env", "prod-eu", "--dir", dir, "--once", "--json"] + arguments,
                         environment: AgentProcess.environment(server: server, token: token))
}

/// A P-256 key pair written as PEM files under `dir`.
func agentKeyPair(_ dir: String, _ name: String) throws -> (privateKey: String, publicKey: String) {
    let key = P256.Signing.PrivateKey()
    let privatePath = "\(dir)/\(name).pem", publicPath = "\(dir)/\(name).pub.pem"
    try (key.pemRepresentation + "\n").write(toFile: privatePath, atomically: true, encoding: .utf8)
    try (key.publicKey.pemRepresentation + "\n").write(toFile: publicPath, atomically: true, encoding: .utf8)
    return (privatePath, publicPath)
}

/// A blob store that counts reads (and the ranges asked for) and hands out each blob in 256 KiB
/// pieces, `delay` apart: a slow link, so a test can act in the middle of a download.
final class SlowCountingBlobStore: ReadWrappingBlobStore {
    let base: any BlobStore
    let delay: Mutex<Duration>
    let reads = Mutex<[(VesselCore.Digest, Range<UInt64>?)]>([])

    init(_ base: any BlobStore, delay: Duration = .zero) {
        self.base = base
        self.delay = Mutex(delay)
    }

    func reads(of digest: VesselCore.Digest) -> [Range<UInt64>?] { reads.withLock { $0.filter { $0.0 == digest }.map(\.1) } }

    func read(_ digest: VesselCore.Digest, range: Range<UInt64>?) async throws -> BlobChunks {
        reads.withLock { $0.append((digest, range)) }
        let inner = try await base.read(digest, range: range)
        let pause = delay.withLock { $0 }
        guard pause > .zero else { return inner }
        let reader = Reader(inner, delay: pause)
        return BlobChunks(length: inner.length) { try await reader.next() }
    }

    final class Reader: Sendable {
        let inner: BlobChunks
        let delay: Duration
        let pending = Mutex<ByteBuffer?>(nil)

        init(_ inner: BlobChunks, delay: Duration) {
            self.inner = inner
            self.delay = delay
        }

        func next() async throws -> ByteBuffer? {
            try await Task.sleep(for: delay)
            var buffer = pending.withLock { $0.take() }
            if buffer == nil || buffer?.readableBytes == 0 {
                let iterator = inner.makeAsyncIterator()
                buffer = try await iterator.next()
            }
            guard var whole = buffer else { return nil }
            let piece = whole.readSlice(length: min(whole.readableBytes, 256 << 10))
            if whole.readableBytes > 0 { pending.withLock { $0 = whole } }
            return piece
        }
    }
}
