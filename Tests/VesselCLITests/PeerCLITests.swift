import Foundation
import Testing
import VesselClient
import VesselCore
import VesselSigning
import VesselTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Peer-to-peer blob sharing, process level (docs/peers.md, issue 30): `vessel cache serve`
/// refuses callers without a valid ticket, a pull takes pieces from peers and still gets the
/// exact bytes when a peer lies or stops answering, two pulls sharing a cache download once,
/// and a pull from a warm peer leaves the origin's egress (on /metrics) nearly untouched.
/// Pieces are the protocol's 64 MiB, so the blobs here are a little over two pieces.
@Suite(.serialized) struct PeerCLITests {
    /// 2 pieces and a bit.
    static let blobSize = (128 << 20) + 12_345

    /// A pushed model with one multi-piece blob and a small file, and a warm cache of it.
    struct Fixture {
        let server: ServeProcess
        let model: String
        let warm: String
        let digest: Digest
        let name: String
    }

    static func fixture(_ name: String) async throws -> Fixture {
        let server = try await ServeProcess()
        let model = TempDir.make("vessel-peer-model")
        try TempDir.writeFile("\(model)/weights.bin", count: blobSize, seed: 30)
        try TempDir.writeFile("\(model)/config.json", count: 700, seed: 31)
        let push = try await CLI.run(["push", model, "--model", "acme/\(name)", "--json"], environment: server.env)
        guard push.status == 0 else { throw TestFailure("push failed: \(push.stderr)") }
        let warm = TempDir.make("vessel-peer-warm")
        let pull = try await CLI.run(["pull", "acme/\(name)", TempDir.make("vessel-peer-out") + "/m", "--cache-dir", warm, "--peers", "off"], environment: server.env)
        guard pull.status == 0 else { throw TestFailure("warm pull failed: \(pull.stderr)") }
        let digest = try FileHasher.sha256(path: "\(model)/weights.bin").digest
        return Fixture(server: server, model: model, warm: warm, digest: digest, name: "acme/\(name)")
    }

    @Test func aPeerRefusesCallersWithoutAValidTicket() async throws {
        let f = try await Self.fixture("tickets")
        defer { f.remove() }
        let peer = try await PeerProcess(cache: f.warm, id: "ticket-peer", env: f.server.env)
        defer { peer.stop() }
        let api = f.server.client()
        defer { Task { await api.shutdown() } }
        let sources = try #require(try await api.blobSources(ModelName("acme/tickets"), digest: f.digest))
        let small = try #require(try Self.otherBlob(f))
        let other = try #require(try await api.blobSources(ModelName("acme/tickets"), digest: small))

        #expect(try await peer.get(f.digest, ticket: nil).status == 401)
        #expect(try await peer.get(f.digest, ticket: nil).body.contains("ticket_invalid"))
        let good = try await peer.get(f.digest, ticket: sources.ticket, range: "bytes=0-99")
        #expect(good.status == 206 && good.length == 100, "\(good.status) \(good.body.prefix(200))")
        // Altered payload (another digest spliced in) and altered signature.
        var altered = Array(sources.ticket.utf8)
        let dot = altered.firstIndex(of: UInt8(ascii: "."))!
        altered[dot + 3] = altered[dot + 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(try await peer.get(f.digest, ticket: String(decoding: altered, as: UTF8.self)).status == 401)
        let spliced = String(other.ticket.split(separator: ".")[0]) + "." + String(sources.ticket.split(separator: ".")[1])
        #expect(try await peer.get(f.digest, ticket: spliced).status == 401)
        // A valid ticket for another blob.
        #expect(try await peer.get(f.digest, ticket: other.ticket).status == 401)
        // Garbage.
        #expect(try await peer.get(f.digest, ticket: "not-a-ticket").status == 401)
        // A blob the peer does not hold, with a valid ticket for it: 404 after the ticket check.
        try FileManager.default.removeItem(atPath: "\(f.warm)/blobs/sha256/\(small.hex.prefix(2))/\(small.hex)")
        #expect(try await peer.get(small, ticket: other.ticket).status == 404)
    }

    @Test func aLyingPeerIsCaughtAtThePieceReportedAndThePullIsExact() async throws {
        let f = try await Self.fixture("liar")
        defer { f.remove() }
        // The liar serves a copy of the warm cache with one byte of the second piece changed,
        // its fingerprint re-recorded so it passes for a verified entry.
        let liar = TempDir.make("vessel-peer-liar")
        try FileManager.default.removeItem(atPath: liar)
        try FileManager.default.copyItem(atPath: f.warm, toPath: liar)
        let path = "\(liar)/blobs/sha256/\(f.digest.hex.prefix(2))/\(f.digest.hex)"
        chmod(path, 0o644)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64(64 << 20) + 1000)
        let original = try #require(handle.readData(ofLength: 1).first)
        try handle.seek(toOffset: UInt64(64 << 20) + 1000)
        handle.write(Data([original ^ 0xFF]))
        try handle.close()
        var info = stat()
        stat(path, &info)
        let mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        try "\(info.st_ino) \(info.st_size) \(mtime)".write(toFile: path + ".stat", atomically: true, encoding: .utf8)

        let peer = try await PeerProcess(cache: liar, id: "liar", env: f.server.env)
        defer { peer.stop() }
        try await peer.waitAnnounced(f.digest, model: f.name, server: f.server)
        let cold = TempDir.make("vessel-peer-cold")
        let out = TempDir.make("vessel-peer-out") + "/m"
        let pull = try await CLI.run(["pull", "acme/liar", out, "--cache-dir", cold, "--json"], environment: f.server.env.merging(["VESSEL_PEER_PIECE_DEADLINE": "120"]) { _, n in n })
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: "\(f.model)/weights.bin", andPath: "\(out)/weights.bin"), "byte-identical despite the liar")
        // The good pieces came from the liar, the bad one was caught and fetched again.
        let fromPeers = try pull.json()["bytes_from_peers"] as? Int ?? 0
        #expect(fromPeers > 0 && fromPeers < Self.blobSize, "\(fromPeers)")
        // The registry was told: the liar is suspect and no longer named as a source.
        let api = f.server.client()
        defer { Task { await api.shutdown() } }
        let peers = try await api.peersList()
        #expect(peers.first { $0.id == "liar" }?.suspectUntil != nil, "\(peers)")
        #expect(try await api.blobSources(ModelName("acme/liar"), digest: f.digest)?.peers.isEmpty == true)
    }

    @Test func aPeerThatStopsAnsweringMidTransferLosesItsPiecesToTheOrigin() async throws {
        let f = try await Self.fixture("vanish")
        defer { f.remove() }
        let peer = try await PeerProcess(cache: f.warm, id: "vanishing", env: f.server.env)
        defer { peer.stop() }
        try await peer.waitAnnounced(f.digest, model: f.name, server: f.server)
        // Frozen: connections are accepted by the kernel and then nothing comes, as with a
        // node that vanished off the network; the per-piece deadline sends its pieces elsewhere.
        peer.signal(SIGSTOP)
        let cold = TempDir.make("vessel-peer-cold")
        let out = TempDir.make("vessel-peer-out") + "/m"
        let pull = try await CLI.run(["pull", "acme/vanish", out, "--cache-dir", cold, "--json"], environment: f.server.env.merging(["VESSEL_PEER_PIECE_DEADLINE": "3"]) { _, n in n })
        peer.signal(SIGCONT)
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: "\(f.model)/weights.bin", andPath: "\(out)/weights.bin"))
        #expect(try pull.json()["bytes_from_peers"] as? Int == 0)
        // Killed outright (still announced until its ttl runs out): refused connections, origin.
        peer.kill()
        let again = TempDir.make("vessel-peer-out") + "/m"
        let second = try await CLI.run(["pull", "acme/vanish", again, "--cache-dir", TempDir.make("vessel-peer-cold"), "--json"], environment: f.server.env)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: "\(f.model)/weights.bin", andPath: "\(again)/weights.bin"))
    }

    @Test func aPullFromAWarmPeerCostsTheOriginAlmostNothing() async throws {
        let f = try await Self.fixture("warm")
        defer { f.remove() }
        let peer = try await PeerProcess(cache: f.warm, id: "warm-peer", env: f.server.env)
        defer { peer.stop() }
        try await peer.waitAnnounced(f.digest, model: f.name, server: f.server)
        let before = try await Self.egress(f.server)
        let out = TempDir.make("vessel-peer-out") + "/m"
        let pull = try await CLI.run(["pull", "acme/warm", out, "--cache-dir", TempDir.make("vessel-peer-cold"), "--json"], environment: f.server.env)
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: "\(f.model)/weights.bin", andPath: "\(out)/weights.bin"))
        #expect(try pull.json()["bytes_from_peers"] as? Int == Self.blobSize + 700)
        let served = try await Self.egress(f.server) - before
        // Both blobs are in the warm cache the peer announces: nothing comes from the origin.
        #expect(served == 0, "origin egress during the pull: \(served) bytes")
        // Stopped cleanly, the peer withdraws its announcement.
        peer.stop()
        let api = f.server.client()
        defer { Task { await api.shutdown() } }
        #expect(try await api.peersList().contains { $0.id == "warm-peer" } == false)
    }

    @Test func twoPullsSharingOneCacheDownloadEachBlobOnce() async throws {
        let f = try await Self.fixture("shared")
        defer { f.remove() }
        let shared = TempDir.make("vessel-peer-shared")
        let before = try await Self.egress(f.server)
        async let a = CLI.run(["pull", "acme/shared", TempDir.make("vessel-peer-out") + "/a", "--cache-dir", shared, "--peers", "off", "--json"], environment: f.server.env)
        async let b = CLI.run(["pull", "acme/shared", TempDir.make("vessel-peer-out") + "/b", "--cache-dir", shared, "--peers", "off", "--json"], environment: f.server.env)
        let (first, second) = try await (a, b)
        #expect(first.status == 0 && second.status == 0, "\(first.stderr) \(second.stderr)")
        let served = try await Self.egress(f.server) - before
        #expect(served == Self.blobSize + 700, "origin egress for two pulls on one cache: \(served)")
    }

    /// Origin leases (decision 0037): two nodes, each a `vessel cache serve` on its own cache
    /// and a pull on that cache, started together, cost the origin each blob once: one node
    /// fetches a blob from the origin, the other waits for it and takes it from that peer.
    @Test func twoSharingPullsStartedTogetherCostTheOriginEachBlobOnce() async throws {
        let f = try await Self.fixture("leases")
        defer { f.remove() }
        let caches = [TempDir.make("vessel-peer-node-a"), TempDir.make("vessel-peer-node-b")]
        defer { for cache in caches { try? FileManager.default.removeItem(atPath: cache) } }
        let peerA = try await PeerProcess(cache: caches[0], id: "lease-node-a", env: f.server.env)
        defer { peerA.stop() }
        let peerB = try await PeerProcess(cache: caches[1], id: "lease-node-b", env: f.server.env)
        defer { peerB.stop() }
        // Each peer has announced (its `.peer.json` is there): the pulls ask for leases as it.
        for cache in caches {
            var waited = 0
            while PeerMarker.read(cacheRoot: cache) == nil {
                waited += 1
                if waited > 300 { throw TestFailure("no live .peer.json in \(cache) within 60 s") }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        let before = try await Self.egress(f.server)
        let outs = [TempDir.make("vessel-peer-out") + "/a", TempDir.make("vessel-peer-out") + "/b"]
        async let a = CLI.run(["pull", f.name, outs[0], "--cache-dir", caches[0], "--json"], environment: f.server.env)
        async let b = CLI.run(["pull", f.name, outs[1], "--cache-dir", caches[1], "--json"], environment: f.server.env)
        let (first, second) = try await (a, b)
        #expect(first.status == 0 && second.status == 0, "\(first.stderr) \(second.stderr)")
        for out in outs {
            #expect(FileManager.default.contentsEqual(atPath: "\(f.model)/weights.bin", andPath: "\(out)/weights.bin"))
            #expect(FileManager.default.contentsEqual(atPath: "\(f.model)/config.json", andPath: "\(out)/config.json"))
        }
        let served = try await Self.egress(f.server) - before
        #expect(served == Self.blobSize + 700, "origin egress for two sharing pulls started together: \(served) (each blob once: \(Self.blobSize + 700))")
        let fromPeers = [first, second].compactMap { try? $0.json()["bytes_from_peers"] as? Int }.reduce(0, +)
        #expect(fromPeers == Self.blobSize + 700, "bytes from peers over both pulls: \(fromPeers)")
    }

    // MARK: Helpers

    /// `vessel_blob_bytes_served_total` on the origin's /metrics.
    static func egress(_ server: ServeProcess) async throws -> Int {
        let text = try await runProcess("/usr/bin/curl", ["-sS", "--max-time", "30", "\(server.url)/metrics"], environment: ["PATH": "/usr/bin:/bin"], timeLimit: .seconds(60)).stdout
        for line in text.split(separator: "\n") where line.hasPrefix("vessel_blob_bytes_served_total ") {
            return Int(Double(line.split(separator: " ")[1]) ?? -1)
        }
        throw TestFailure("no vessel_blob_bytes_served_total on /metrics: \(text.prefix(500))")
    }

    /// The small blob's digest (config.json).
    static func otherBlob(_ f: Fixture) throws -> Digest? {
        try FileHasher.sha256(path: "\(f.model)/config.json").digest
    }
}

extension PeerCLITests.Fixture {
    func remove() {
        for dir in [model, warm] { try? FileManager.default.removeItem(atPath: dir) }
    }
}


/// A `vessel cache serve` process for these tests: started on a free loopback port, waited for
/// (at most 60 s), stopped with SIGTERM (killed after 20 s) on every path, also when dropped.
final class PeerProcess: @unchecked Sendable {
    let port: Int
    let id: String
    let log: String
    private var process: Process?

    init(cache: String, id: String, env: [String: String]) async throws {
        self.id = id
        port = CLI.freePort()
        log = TempDir.make("vessel-peer-log") + "/serve.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        defer { try? output.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["cache", "serve", "--cache-dir", cache, "--listen", "127.0.0.1:\(port)", "--peer-id", id, "--ttl", "30", "--log-level", "info"]
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "XDG_CONFIG_HOME": "/nonexistent-vessel-config"].merging(env) { _, new in new }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        for _ in 0..<300 {
            if let health = try? await runProcess("/usr/bin/curl", ["-s", "--max-time", "2", "http://127.0.0.1:\(port)/healthz"], environment: ["PATH": "/usr/bin:/bin"], timeLimit: .seconds(10)),
               health.stdout.hasPrefix("ok") { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        stop()
        throw TestFailure("vessel cache serve did not come up: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    /// Waits (at most 60 s) until the registry names this peer as a source of `digest`.
    func waitAnnounced(_ digest: Digest, model: String, server: ServeProcess) async throws {
        let api = server.client()
        defer { Task { await api.shutdown() } }
        let model = try ModelName(model)
        for _ in 0..<120 {
            if let sources = try? await api.blobSources(model, digest: digest), sources.peers.contains(where: { $0.id == id }) { return }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw TestFailure("peer \(id) was not announced as holding \(digest) within 60 s: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    struct Answer {
        var status: Int
        var body: String
        var length: Int
    }

    /// `GET /blobs/DIGEST` with curl.
    func get(_ digest: Digest, ticket: String?, range: String? = nil) async throws -> Answer {
        let file = TempDir.make("vessel-peer-get") + "/body"
        defer { try? FileManager.default.removeItem(atPath: (file as NSString).deletingLastPathComponent) }
        var arguments = ["-s", "--max-time", "60", "-o", file, "-w", "%{http_code}"]
        if let ticket { arguments += ["-H", "Authorization: Ticket \(ticket)"] }
        if let range { arguments += ["-H", "Range: \(range)"] }
        arguments.append("http://127.0.0.1:\(port)/blobs/\(digest)")
        let result = try await runProcess("/usr/bin/curl", arguments, environment: ["PATH": "/usr/bin:/bin"], timeLimit: .seconds(90))
        let data = FileManager.default.contents(atPath: file) ?? Data()
        return Answer(status: Int(result.stdout) ?? 0, body: String(decoding: data.prefix(2000), as: UTF8.self), length: data.count)
    }

    func signal(_ signal: Int32) {
        guard let process, process.isRunning else { return }
        _ = Glibc.kill(process.processIdentifier, signal)
    }

    func kill() {
        guard let process else { return }
        if process.isRunning { _ = Glibc.kill(process.processIdentifier, SIGCONT); _ = Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        self.process = nil
    }

    func stop() {
        guard let process else { return }
        if process.isRunning {
            _ = Glibc.kill(process.processIdentifier, SIGCONT)
            process.terminate()
            let deadline = ContinuousClock.now + .seconds(20)
            while process.isRunning && ContinuousClock.now < deadline { usleep(20_000) }
            if process.isRunning { _ = Glibc.kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        self.process = nil
    }

    deinit { stop() }
}

