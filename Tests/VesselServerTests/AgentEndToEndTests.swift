import Foundation
import Testing
import VesselCore
import VesselSigning
import VesselTestSupport
@testable import VesselClient

#if canImport(Glibc)
import Glibc
#endif

/// `vessel agent` end to end (issue 24): the built binary following a real registry — a
/// `vessel serve` process, or an in-process server whose blob store counts reads and can be
/// slowed down so a test can act mid-download. Every wait is for a state, bounded generously.
@Suite(.serialized, .timeLimit(.minutes(5)), .enabled(if: VesselExecutable.path != nil, "needs the vessel executable"))
struct AgentEndToEndTests {
    static let model = try! ModelName("acme/m")
    static let env = try! AliasName("prod-eu")

    static func push(_ server: ServeProcess, note: String, signKey: String? = nil) async throws {
        let folder = TempDir.make("vessel-agent-model")
        try "{\"note\": \"\(note)\"}".write(toFile: "\(folder)/config.json", atomically: true, encoding: .utf8)
        let push = try await CLI.run(["push", folder, "--model", "acme/m"] + (signKey.map { ["--sign-key", $0] } ?? []), environment: server.env)
        #expect(push.status == 0, "\(push.stderr)")
    }

    static func deploy(_ server: ServeProcess, _ arguments: [String]) async throws {
        let result = try await CLI.run(["deploy"] + arguments + ["--env", "prod-eu"], environment: server.env)
        #expect(result.status == 0, "deploy \(arguments): \(result.stderr)")
    }

    /// Deploys version `n` and completes the rollout (`--steps 100`, one advance).
    static func rollOut(_ server: ServeProcess, _ n: Int) async throws {
        try await deploy(server, ["acme/m:\(n)", "--steps", "100"])
        try await deploy(server, ["advance", "acme/m"])
    }

    static func digests(_ server: ServeProcess) async throws -> [Int: String] {
        let api = server.client()
        defer { Task { await api.shutdown() } }
        var digests: [Int: String] = [:]
        for n in 1...3 {
            if let version = try? await api.resolve(Reference(model: model, selector: .version(n))) { digests[n] = version.digest.description }
        }
        return digests
    }

    static func nodes(_ server: ServeProcess) async throws -> [NodeRecord] {
        let api = server.client()
        do {
            let nodes = try await api.deploymentNodes(model, env: env)
            await api.shutdown()
            return nodes
        } catch {
            await api.shutdown()
            throw error
        }
    }

    @Test func anAgentFollowsARolloutAndARollbackAfterCompletion() async throws {
        let server = try await ServeProcess()
        defer { server.stop() }
        try await Self.push(server, note: "one")
        try await Self.push(server, note: "two")
        try await Self.deploy(server, ["acme/m:1"])
        let digests = try await Self.digests(server)
        let dir = TempDir.make("vessel-agent")
        let agent = try AgentProcess(server: server.url, token: ServeProcess.adminToken, dir: dir, arguments: ["--cache-dir", dir + "-cache", "--node", "node-a"])
        defer { agent.stop() }
        let first = try await agent.waitFor("version 1 in sync") { $0["digest"] as? String == digests[1] && $0["state"] as? String == "in_sync" }
        #expect(first["model"] as? String == "acme/m" && first["env"] as? String == "prod-eu" && first["slot"] as? String == "live" && first["node"] as? String == "node-a")
        #expect(first["version"] as? Int == 1 && first["loaded_at"] is String && first["verified_by"] is NSNull, "\(first)")
        let hex1 = String(digests[1]!.dropFirst(7)), hex2 = String(digests[2]!.dropFirst(7))
        #expect(agent.current == "versions/\(hex1)")
        #expect(FileManager.default.fileExists(atPath: "\(dir)/current/config.json"))

        try await Self.rollOut(server, 2)
        try await agent.waitFor("version 2 after the completed rollout") { $0["digest"] as? String == digests[2] && $0["state"] as? String == "in_sync" }
        #expect(agent.current == "versions/\(hex2)")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/versions")) == [hex1, hex2], "the previous version's folder stays")

        try await Self.deploy(server, ["rollback", "acme/m"])
        try await agent.waitFor("version 1 after the rollback") { $0["digest"] as? String == digests[1] && $0["state"] as? String == "in_sync" }
        #expect(agent.current == "versions/\(hex1)")

        // The registry hears what the node serves.
        var reported: NodeRecord?
        for _ in 0..<200 {
            reported = try await Self.nodes(server).first { $0.node == "node-a" }
            if reported?.actual?.digest.description == digests[1] { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(reported?.actual?.digest.description == digests[1] && reported?.reportedState == "in_sync" && reported?.slot == .live, "\(String(describing: reported))")

        // A restart with the version in place serves it before anything else, downloading nothing.
        agent.stop()
        let again = try AgentProcess(server: server.url, token: ServeProcess.adminToken, dir: dir, arguments: ["--cache-dir", dir + "-cache", "--node", "node-a"])
        defer { again.stop() }
        try await again.waitFor("version 1 after a restart") { $0["digest"] as? String == digests[1] && $0["state"] as? String == "in_sync" }
        #expect(!again.logText.contains("pulled version"), "\(again.logText)")
    }

    @Test func anAgentSurvivesARegistryRestartAndFollowsTheNextChange() async throws {
        let server = try await ServeProcess()
        defer { server.stop() }
        try await Self.push(server, note: "one")
        try await Self.push(server, note: "two")
        try await Self.deploy(server, ["acme/m:1"])
        let digests = try await Self.digests(server)
        let dir = TempDir.make("vessel-agent")
        let agent = try AgentProcess(server: server.url, token: ServeProcess.adminToken, dir: dir, arguments: ["--cache-dir", dir + "-cache"])
        defer { agent.stop() }
        try await agent.waitFor("version 1 in sync") { $0["digest"] as? String == digests[1] && $0["state"] as? String == "in_sync" }
        // Down for a few seconds: the agent keeps serving what it has.
        server.kill()
        try await Task.sleep(for: .seconds(3))
        let during = try #require(await agent.health())
        #expect(during["digest"] as? String == digests[1] && during["state"] as? String == "in_sync", "\(during)")
        try await server.start()
        try await Self.rollOut(server, 2)
        try await agent.waitFor("version 2 after the registry came back") { $0["digest"] as? String == digests[2] && $0["state"] as? String == "in_sync" }
    }

    @Test func unsignedAndUntrustedVersionsAreRefusedWhileTheOldOneKeepsServing() async throws {
        let server = try await ServeProcess()
        defer { server.stop() }
        let keys = TempDir.make("vessel-agent-keys")
        let trusted = try agentKeyPair(keys, "trusted"), stranger = try agentKeyPair(keys, "stranger")
        try await Self.push(server, note: "signed", signKey: trusted.privateKey)
        try await Self.push(server, note: "unsigned")
        try await Self.push(server, note: "signed by a stranger", signKey: stranger.privateKey)
        try await Self.deploy(server, ["acme/m:1"])
        let digests = try await Self.digests(server)
        let dir = TempDir.make("vessel-agent")
        let agent = try AgentProcess(server: server.url, token: ServeProcess.adminToken, dir: dir,
                                     arguments: ["--cache-dir", dir + "-cache", "--node", "node-v", "--verify-key", trusted.publicKey])
        defer { agent.stop() }
        let first = try await agent.waitFor("version 1 verified") { $0["digest"] as? String == digests[1] && $0["state"] as? String == "in_sync" }
        #expect(first["verified_by"] as? String == trusted.publicKey, "\(first)")

        try await Self.rollOut(server, 2)
        let unsigned = try await agent.waitFor("version 2 refused") { $0["state"] as? String == "verification_failed" }
        #expect(unsigned["digest"] as? String == digests[1] && unsigned["version"] as? Int == 1, "the old version keeps serving: \(unsigned)")
        #expect((unsigned["message"] as? String)?.contains("no signatures") == true, "\(unsigned)")
        #expect(agent.current == "versions/\(digests[1]!.dropFirst(7))")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/versions/\(digests[2]!.dropFirst(7))"), "nothing of version 2 was materialized")

        try await Self.rollOut(server, 3)
        let untrusted = try await agent.waitFor("version 3 refused") { ($0["message"] as? String)?.contains("version 3") == true && $0["state"] as? String == "verification_failed" }
        #expect(untrusted["digest"] as? String == digests[1], "\(untrusted)")
        #expect(agent.current == "versions/\(digests[1]!.dropFirst(7))")

        var reported: NodeRecord?
        for _ in 0..<200 {
            reported = try await Self.nodes(server).first { $0.node == "node-v" }
            if reported?.reportedState == "verification_failed" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(reported?.reportedState == "verification_failed" && reported?.actual?.digest.description == digests[1], "\(String(describing: reported))")
    }

    @Test func aFailingHookPutsCurrentBack() async throws {
        let server = try await ServeProcess()
        defer { server.stop() }
        try await Self.push(server, note: "one")
        try await Self.push(server, note: "two")
        try await Self.deploy(server, ["acme/m:1"])
        let digests = try await Self.digests(server)
        let dir = TempDir.make("vessel-agent")
        let hookLog = dir + "-hook.log"
        let hook = "echo \"$VESSEL_MODEL $VESSEL_VERSION $VESSEL_DIGEST $VESSEL_DIR $(cat \"$VESSEL_DIR/config.json\")\" >> '\(hookLog)'; test \"$VESSEL_VERSION\" != 2"
        let agent = try AgentProcess(server: server.url, token: ServeProcess.adminToken, dir: dir, arguments: ["--cache-dir", dir + "-cache", "--on-switch", hook])
        defer { agent.stop() }
        try await agent.waitFor("version 1 in sync") { $0["digest"] as? String == digests[1] && $0["state"] as? String == "in_sync" }
        try await Self.rollOut(server, 2)
        let failed = try await agent.waitFor("the switch to version 2 failed") { $0["state"] as? String == "switch_failed" }
        #expect(failed["digest"] as? String == digests[1] && failed["version"] as? Int == 1, "\(failed)")
        #expect(agent.current == "versions/\(digests[1]!.dropFirst(7))", "current went back")
        let lines = try String(contentsOfFile: hookLog, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.first == "acme/m 1 \(digests[1]!) \(dir)/current {\"note\": \"one\"}", "\(lines)")
        // The hook saw version 2 in current while it ran.
        #expect(lines.last == "acme/m 2 \(digests[2]!) \(dir)/current {\"note\": \"two\"}", "\(lines)")
    }

    @Test func onceExitsZeroOneThreeOrSix() async throws {
        let server = try await ServeProcess()
        defer { server.stop() }
        let keys = TempDir.make("vessel-agent-keys")
        let trusted = try agentKeyPair(keys, "trusted")
        let dir = TempDir.make("vessel-agent"), cache = dir + "-cache"
        let token = ServeProcess.adminToken
        let none = try await agentOnce(server: server.url, token: token, dir: dir, ["--cache-dir", cache, "--retry-for", "0"])
        #expect(none.status == 3, "no such deployment: \(none.stdout) \(none.stderr)")

        try await Self.push(server, note: "one")
        try await Self.deploy(server, ["acme/m:1"])
        let digests = try await Self.digests(server)
        let synced = try await agentOnce(server: server.url, token: token, dir: dir, ["--cache-dir", cache, "--retry-for", "0"])
        #expect(synced.status == 0, "\(synced.stdout) \(synced.stderr)")
        #expect((try? synced.json())?["digest"] as? String == digests[1] && (try? synced.json())?["state"] as? String == "in_sync", "\(synced.stdout)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/current") == "versions/\(digests[1]!.dropFirst(7))")

        let refusedDir = TempDir.make("vessel-agent")
        let refused = try await agentOnce(server: server.url, token: token, dir: refusedDir, ["--cache-dir", cache, "--retry-for", "0", "--verify-key", trusted.publicKey])
        #expect(refused.status == 1, "an unsigned version with --verify-key: \(refused.stdout) \(refused.stderr)")
        #expect((try? refused.json())?["state"] as? String == "verification_failed", "\(refused.stdout)")

        server.stop()
        let offline = try await agentOnce(server: server.url, token: token, dir: dir, ["--cache-dir", cache, "--retry-for", "0"])
        #expect(offline.status == 0, "the registry is away but the last contact's version is in place: \(offline.stdout) \(offline.stderr)")
        let nothing = try await agentOnce(server: server.url, token: token, dir: TempDir.make("vessel-agent"), ["--cache-dir", cache, "--retry-for", "0"])
        #expect(nothing.status == 6, "the registry is away and nothing is in place: \(nothing.stdout) \(nothing.stderr)")
    }

    /// `vessel agent --share`: the agent announces what its cache holds as peer NODE, serves it
    /// to a pull on another cache (nothing from the origin, on /metrics) and withdraws on SIGTERM.
    @Test func anAgentThatSharesServesItsVersionToAColdPull() async throws {
        let server = try await ServeProcess()
        defer { server.stop() }
        let folder = TempDir.make("vessel-agent-model")
        try "{\"note\": \"shared\"}".write(toFile: "\(folder)/config.json", atomically: true, encoding: .utf8)
        try TempDir.writeFile("\(folder)/weights.bin", count: 3 << 20, seed: 24)
        let push = try await CLI.run(["push", folder, "--model", "acme/m"], environment: server.env)
        #expect(push.status == 0, "\(push.stderr)")
        try await Self.deploy(server, ["acme/m:1"])
        let digests = try await Self.digests(server)
        let dir = TempDir.make("vessel-agent")
        let share = CLI.freePort()
        let agent = try AgentProcess(server: server.url, token: ServeProcess.adminToken, dir: dir,
                                     arguments: ["--cache-dir", dir + "-cache", "--node", "node-s", "--share", "127.0.0.1:\(share)"])
        defer { agent.stop() }
        try await agent.waitFor("version 1 in sync") { $0["digest"] as? String == digests[1] && $0["state"] as? String == "in_sync" }
        let api = server.client()
        defer { Task { await api.shutdown() } }
        var announced: PeerInfo?
        for _ in 0..<600 where announced?.blobs ?? 0 < 2 {
            announced = try await api.peersList().first { $0.id == "node-s" }
            if announced?.blobs ?? 0 < 2 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(announced?.url == "http://127.0.0.1:\(share)" && announced?.blobs == 2, "the agent's announcement: \(String(describing: announced)); log:\n\(agent.logText.suffix(2000))")

        let before = try await server.blobBytesServed()
        let out = TempDir.make("vessel-agent-pull") + "/m"
        let pull = try await CLI.run(["pull", "acme/m:1", out, "--cache-dir", TempDir.make("vessel-agent-cold"), "--json"], environment: server.env)
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: "\(folder)/weights.bin", andPath: "\(out)/weights.bin"))
        #expect(try pull.json()["bytes_from_peers"] as? Int == (3 << 20) + 18, "\(pull.stdout)")
        let served = try await server.blobBytesServed() - before
        #expect(served == 0, "origin egress while the agent shared the version: \(served) bytes")

        agent.stop()
        #expect(try await api.peersList().contains { $0.id == "node-s" } == false, "a stopped agent withdraws its announcement")
    }
}

/// The agent against an in-process registry whose blob store counts (and can slow) reads.
@Suite(.serialized, .timeLimit(.minutes(5)), .enabled(if: VesselExecutable.path != nil, "needs the vessel executable"))
struct AgentDownloadTests {
    static let model = try! ModelName("acme/m")
    static let env = try! AliasName("prod-eu")

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count / 8).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64) { Array($0) } }
    }

    /// Pushes a version holding `weights.bin` of `size` random bytes; returns its weights digest.
    static func push(_ harness: LiveHarness, _ name: String, size: Int) async throws -> VesselCore.Digest {
        let bytes = randomBytes(size)
        let folder = try harness.folder(name, ["weights.bin": bytes, "config.json": Array("{\"name\": \"\(name)\"}".utf8)])
        _ = try await Pusher(api: harness.api).push(folder: folder, model: model, alias: nil, description: nil)
        return VesselCore.Digest(bytes: SHA256Hasher.hash(bytes))
    }

    static func rollOut(_ harness: LiveHarness, _ version: Int) async throws {
        _ = try await harness.api.deploy(model, env: env, DeployRequest(version: version, steps: [100]))
        _ = try await harness.api.advanceDeployment(model, env: env, DeploymentChangeRequest())
    }

    static func server(_ harness: LiveHarness) -> String { harness.api.config.server }

    @Test func twoAgentsSharingACacheDownloadEachBlobOnce() async throws {
        let store = Mutex<SlowCountingBlobStore?>(nil)
        try await LiveHarness.with(blobs: { base in
            let slow = SlowCountingBlobStore(base, delay: .milliseconds(20))
            store.withLock { $0 = slow }
            return slow
        }) { harness in
            let weights = try await Self.push(harness, "one", size: 8 << 20)
            _ = try await harness.api.deploy(Self.model, env: Self.env, DeployRequest(version: 1))
            let cache = TempDir.make("vessel-agent-shared-cache")
            let results = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
                for _ in 0..<2 {
                    group.addTask { try await agentOnce(server: Self.server(harness), token: APIHarness.adminToken, dir: TempDir.make("vessel-agent"), ["--cache-dir", cache]) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for result in results { #expect(result.status == 0, "\(result.stdout) \(result.stderr)") }
            let slow = try #require(store.withLock { $0 })
            #expect(slow.reads(of: weights).count == 1, "the weights were read \(slow.reads(of: weights).count) times")
        }
    }

    @Test func anAgentKilledMidDownloadResumes() async throws {
        let store = Mutex<SlowCountingBlobStore?>(nil)
        try await LiveHarness.with(blobs: { base in
            let slow = SlowCountingBlobStore(base, delay: .milliseconds(40))
            store.withLock { $0 = slow }
            return slow
        }) { harness in
            let size = 32 << 20
            let weights = try await Self.push(harness, "one", size: size)
            _ = try await harness.api.deploy(Self.model, env: Self.env, DeployRequest(version: 1))
            let dir = TempDir.make("vessel-agent"), cache = dir + "-cache"
            let partial = "\(cache)/partial/\(weights.hex).partial"
            let first = try AgentProcess(server: Self.server(harness), token: APIHarness.adminToken, dir: dir, arguments: ["--cache-dir", cache])
            var had: UInt64 = 0
            for _ in 0..<1200 {
                had = (try? FileManager.default.attributesOfItem(atPath: partial)[.size] as? UInt64) ?? 0
                if had >= 8 << 20 { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            first.kill()
            #expect(had >= 8 << 20 && had < UInt64(size), "killed with \(had) bytes of \(size) in the partial file")
            let second = try AgentProcess(server: Self.server(harness), token: APIHarness.adminToken, dir: dir, arguments: ["--cache-dir", cache])
            defer { second.stop() }
            try await second.waitFor("version 1 after the restart") { $0["version"] as? Int == 1 && $0["state"] as? String == "in_sync" }
            let reads = try #require(store.withLock { $0 }).reads(of: weights)
            #expect(reads.count == 2 && reads.last??.lowerBound ?? 0 >= 8 << 20, "the second download resumed: \(reads)")
            let hashed = try FileHasher.sha256(path: "\(dir)/current/weights.bin")
            #expect(hashed.digest == weights && hashed.size == UInt64(size))
        }
    }

    @Test func aDesiredVersionChangingMidDownloadEndsOnTheNewest() async throws {
        let store = Mutex<SlowCountingBlobStore?>(nil)
        try await LiveHarness.with(blobs: { base in
            let slow = SlowCountingBlobStore(base)
            store.withLock { $0 = slow }
            return slow
        }) { harness in
            let slow = try #require(store.withLock { $0 })
            _ = try await Self.push(harness, "one", size: 1 << 20)
            _ = try await harness.api.deploy(Self.model, env: Self.env, DeployRequest(version: 1))
            let dir = TempDir.make("vessel-agent")
            let agent = try AgentProcess(server: Self.server(harness), token: APIHarness.adminToken, dir: dir, arguments: ["--cache-dir", dir + "-cache"])
            defer { agent.stop() }
            try await agent.waitFor("version 1") { $0["version"] as? Int == 1 && $0["state"] as? String == "in_sync" }
            // Version 2 comes slowly (32 MiB at 256 KiB per 40 ms: about 5 s).
            slow.delay.withLock { $0 = .milliseconds(40) }
            _ = try await Self.push(harness, "two", size: 32 << 20)
            try await Self.rollOut(harness, 2)
            try await agent.waitFor("downloading version 2") { $0["state"] as? String == "downloading" }
            slow.delay.withLock { $0 = .zero }
            _ = try await Self.push(harness, "three", size: 1 << 20)
            try await Self.rollOut(harness, 3)
            let done = try await agent.waitFor("version 3") { $0["version"] as? Int == 3 && $0["state"] as? String == "in_sync" }
            let three = try await harness.api.resolve(Reference(model: Self.model, selector: .version(3)))
            #expect(done["digest"] as? String == three.digest.description)
            #expect(agent.current == "versions/\(three.digest.hex)")
        }
    }
}

import struct Crypto.SHA256
import Synchronization

enum SHA256Hasher {
    static func hash(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }
}
