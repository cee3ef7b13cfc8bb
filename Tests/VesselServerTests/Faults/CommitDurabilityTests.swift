import Foundation
import Testing
import VesselCore
import VesselTestSupport
@testable import VesselClient

/// Issue 27's durability promise: a version whose commit response reached the client survives
/// `kill -9` of `vessel serve` sent the next moment. Eight clients commit versions as fast as
/// they can (a draft naming a stored blob, then its commit) across four models; once enough
/// commits were acknowledged the test SIGKILLs the server mid-stream, starts it again on the
/// same data (and database), and every acknowledged version is there: its number, state,
/// digest and manifest as the response said, and its `version.create` audit entry, with the
/// chain verifying. Two kills per backend (the second after the restart took new commits), on
/// embedded SQLite and on PostgreSQL (a scratch database on the test server).
@Suite(.serialized, .timeLimit(.minutes(8)))
struct CommitDurabilityTests {
    static let clients = 8
    static let models = (0..<4).map { try! ModelName("acme/durable-\($0)") }
    /// Acknowledged commits per round before the kill: enough that several are in flight.
    static let killAfter = 150
    /// Generous on a loaded 2-core machine: each bound fails the test with a message.
    static let ackBound = Duration.seconds(180)
    static let clientsStopBound = Duration.seconds(120)

    /// One acknowledged commit: what the response said.
    struct Ack: Sendable {
        var model: ModelName
        var version: Int
        var digest: VesselCore.Digest
        var entries: [ManifestEntry]
    }

    /// Counts acknowledgements and tells clients to stop, across tasks.
    final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private var acks: [Ack] = []
        private var stopped = false
        func add(_ ack: Ack) { lock.withLock { acks.append(ack) } }
        var count: Int { lock.withLock { acks.count } }
        var all: [Ack] { lock.withLock { acks } }
        func stop() { lock.withLock { stopped = true } }
        var isStopped: Bool { lock.withLock { stopped } }
    }

    @Test(.enabled(if: VesselExecutable.path != nil, "needs the vessel executable"))
    func acknowledgedCommitsSurviveKillOnSQLite() async throws {
        let dir = TempDir.make("vessel-commit-kill")
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: "\(dir).log") }
        let server = try await ServeProcess(dataDir: dir)
        defer { server.kill() }
        try await Self.run(server, base: dir)
    }

    @Test(.enabled(if: VesselExecutable.path != nil && TwoReplicaTests.postgresURL != nil, "needs the vessel executable and VESSEL_TEST_POSTGRES_URL"))
    func acknowledgedCommitsSurviveKillOnPostgreSQL() async throws {
        let text = try #require(TwoReplicaTests.postgresURL)
        let dir = TempDir.make("vessel-commit-kill-pg")
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: "\(dir).log") }
        try await TwoReplicaTests.withDatabase(text) { url in
            let server = try await ServeProcess(dataDir: dir, arguments: ["--database", url])
            defer { server.kill() }
            try await Self.run(server, base: dir)
        }
    }

    static func run(_ server: ServeProcess, base: String) async throws {
        // One stored blob every draft names (the commit path, not the upload, is under test).
        let folder = "\(base)-seed"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let bytes = Array("{\"durable\": true}\n".utf8)
        #expect(FileManager.default.createFile(atPath: "\(folder)/config.json", contents: Data(bytes)))
        let seed = try await CLI.run(["push", folder, "--model", models[0].description, "--json"], environment: server.env)
        try #require(seed.status == 0, "seed push: \(seed.stdout) \(seed.stderr)")
        let digest = APIHarness.digest(bytes)
        let setup = server.client()
        do {
            for model in models.dropFirst() { _ = try await setup.createModel(model, description: "kill -9 durability", tags: nil) }
        } catch {
            await setup.shutdown()
            throw error
        }
        await setup.shutdown()

        var acknowledged: [Ack] = []
        for round in 1...2 {
            let tally = Tally()
            try await commitUntilKilled(server, digest: digest, size: UInt64(bytes.count), round: round, tally: tally)
            acknowledged += tally.all
            try await server.start()
            do {
                try await verify(server, acknowledged: acknowledged, round: round)
            } catch {
                Issue.record("server log: \(ServeShutdownTests.logTail(server))")
                throw error
            }
        }
    }

    /// Eight clients commit until the server dies; the server is SIGKILLed once `killAfter`
    /// commits were acknowledged. Returns when every client stopped.
    static func commitUntilKilled(_ server: ServeProcess, digest: VesselCore.Digest, size: UInt64, round: Int, tally: Tally) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for client in 0..<clients {
                group.addTask {
                    let api = server.client()
                    var n = 0
                    while !tally.isStopped {
                        n += 1
                        let model = models[(client + n) % models.count]
                        let entries = [ManifestEntry(path: "r\(round)-c\(client)-\(n).json", size: size, digest: digest, mediaType: "application/json")]
                        do {
                            let draft = try await api.createDraft(model, DraftRequest(files: entries, description: "round \(round) client \(client) #\(n)"))
                            let info = try await api.commitDraft(model, draftID: draft.draftId)
                            tally.add(Ack(model: model, version: info.version, digest: info.digest, entries: entries))
                        } catch {
                            // The kill cut the request (or refused the next one): this client is done.
                            // Before the kill, an error is a failure of its own.
                            if !tally.isStopped { Issue.record("client \(client) failed before the kill: \(error)") }
                            break
                        }
                    }
                    await api.shutdown()
                    return true
                }
            }
            // The killer: SIGKILL once enough commits were answered, while the clients still run.
            let start = ContinuousClock.now
            while tally.count < killAfter {
                guard start.duration(to: .now) < ackBound else {
                    tally.stop()
                    server.kill()
                    throw TestFailure("only \(tally.count) commits acknowledged within \(ackBound) (round \(round))")
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            tally.stop()
            server.kill()
            group.addTask {
                try await Task.sleep(for: clientsStopBound)
                return false
            }
            var finished = 0
            while let ok = try await group.next() {
                guard ok else { throw TestFailure("clients still running \(clientsStopBound) after the kill") }
                finished += 1
                if finished == clients {
                    group.cancelAll()
                    break
                }
            }
        }
    }

    static func verify(_ server: ServeProcess, acknowledged: [Ack], round: Int) async throws {
        let api = server.client()
        do {
            #expect(Set(acknowledged.map { "\($0.model):\($0.version)" }).count == acknowledged.count, "a version number was acknowledged twice")
            for model in models {
                let acks = acknowledged.filter { $0.model == model }
                // Every acknowledged version, as its response said.
                var listed: [Int: VersionInfo] = [:]
                var cursor: String?
                repeat {
                    let page = try await api.versions(model, filter: VersionFilter(), limit: 1000, cursor: cursor)
                    for item in page.items { listed[item.version] = item }
                    cursor = page.nextCursor
                } while cursor != nil
                for ack in acks {
                    let info = listed[ack.version]
                    #expect(info != nil, "round \(round): \(model):\(ack.version) was acknowledged and is gone after kill -9")
                    #expect(info?.digest == ack.digest, "round \(round): \(model):\(ack.version)")
                    #expect(info?.state == .ready, "round \(round): \(model):\(ack.version) is \(info.map { "\($0.state)" } ?? "missing")")
                }
                // Its manifest, read back (a sample: every file of the last acknowledged ones).
                for ack in acks.suffix(20) {
                    let info = try await api.resolve(Reference(model: model, selector: .version(ack.version)))
                    #expect(info.manifest?.map { [$0.path, String($0.size), $0.digest.description] } == ack.entries.map { [$0.path, String($0.size), $0.digest.description] },
                            "round \(round): \(model):\(ack.version) manifest")
                }
                // Its audit entry.
                var created = Set<String>()
                cursor = nil
                repeat {
                    let page = try await api.auditEntries(model: model, limit: 1000, cursor: cursor)
                    for entry in page.items where entry.action == "version.create" { created.insert(entry.target) }
                    cursor = page.nextCursor
                } while cursor != nil
                for ack in acks {
                    #expect(created.contains("version/\(model):\(ack.version)"), "round \(round): no version.create audit entry for acknowledged \(model):\(ack.version)")
                }
            }
            #expect(try await api.verifyAudit().ok, "round \(round): the audit chain does not verify after kill -9")
        } catch {
            await api.shutdown()
            throw error
        }
        await api.shutdown()
    }
}
