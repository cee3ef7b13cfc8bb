import Foundation
import Testing
import VesselCore
import VesselSigning
import VesselTestSupport
@testable import VesselClient
@testable import VesselStorage

#if canImport(Glibc)
import Glibc
#endif

/// Issue 22's first fault test, on the real servers: PostgreSQL is killed (`pg_ctl -m immediate`,
/// `synchronous_commit=on`) and started again, twice, while `vessel push`, `vessel alias set`
/// and `vessel promote` processes run through two `vessel serve` replicas that share one
/// database (a private `DisposablePostgres`, never the shared instance) and one S3 bucket
/// prefix (the shared radosgw). Every client waits the outage out (`--retry-for 2m`) and
/// exits 0; afterwards every acknowledged version reads back through both replicas exactly as
/// the client reported it (number, digest, manifest, bytes), no version exists that nobody was
/// told about, every alias points at a version that exists, each move is recorded once, and
/// the audit chain verifies.
///
/// The choreography waits for signals, not for guessed times: the first crash comes once the
/// first wave has written to the database; a second wave starts while it is down, and the
/// database comes back once both replicas have answered 503 (and at least three seconds
/// passed: the outage's length is the fault, not a wait); the second crash comes once a draft
/// or version was written after the restart, with a third wave started while it is down.
@Suite(.serialized,
       .enabled(if: VesselExecutable.path != nil && DisposablePostgres.isAvailable && S3ServeTests.s3 != nil,
                Comment(rawValue: "needs the vessel executable, VESSEL_TEST_S3_URL (scripts/services.sh start-rgw) and: " + DisposablePostgres.requirement)),
       .timeLimit(.minutes(5)))
struct DatabaseCrashUnderLoadTests {
    /// A folder pushed as one version: what the client was asked to store.
    struct PushPlan: Sendable {
        var model: String
        var folder: String
        var files: [String: [UInt8]]
        /// The manifest's entries in manifest order, and the version digest they make.
        var entries: [ManifestEntry]
        var digest: Digest
    }

    /// A run of moves of one alias, one process after the other, each naming where the alias
    /// points before it (`--expect-current`): a repeated move that was applied before the
    /// crash cut its answer must answer applied, and one that was not must still apply.
    struct MoveLane: Sendable {
        var model: String
        var alias: String
        var targets: [Int]
        /// `vessel promote` instead of `vessel alias set`.
        var promote: Bool
    }

    /// One finished client process.
    struct Outcome: Sendable {
        var label: String
        var result: ProcessResult
        var push: PushPlan?
        /// The port of the replica it talked to (the last one, for a run of moves).
        var through: Int
        /// How long the process ran.
        var took: Duration
    }

    /// How long a client may take, waiting out both outages (about three seconds each) and
    /// its own backoff (at most five seconds a pause): far more than it needs (about ten
    /// seconds), far less than the client's 300 s read timeout, which a request the server
    /// never answers runs into.
    static let clientBound = Duration.seconds(100)

    static let retryFor = "2m"

    @Test func pushesAndMovesThroughTwoReplicasSurviveTwoDatabaseCrashes() async throws {
        let s3 = try #require(S3ServeTests.s3)
        let storage = try S3ServeTests.isolatedURL(s3.url)
        let location = try S3Location(parsing: storage)
        let env = ["AWS_ACCESS_KEY_ID": s3.access, "AWS_SECRET_ACCESS_KEY": s3.secret]
        let base = TempDir.make("vessel-pgcrash")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let (probe, _) = try await S3BlobStore.open(location, credentials: S3Credentials(accessKey: s3.access, secretKey: s3.secret))
        do {
            try await DisposablePostgres.with { pg in
                #expect(try await pg.psql("SHOW synchronous_commit") == "on\n")
                let arguments = ["--database", pg.url, "--storage", storage, "--backend-timeout", "2s"]
                async let startA = ServeProcess(dataDir: "\(base)/a", arguments: arguments, log: "\(base)/a.log", environment: env)
                async let startB = ServeProcess(dataDir: "\(base)/b", arguments: arguments, log: "\(base)/b.log", environment: env)
                let (a, b) = try await (startA, startB)
                defer { a.stop(); b.stop() }
                do {
                    try await Self.run(pg: pg, replicas: [a, b], base: base)
                } catch {
                    Issue.record("replica logs:\nA: \(ServeShutdownTests.logTail(a))\nB: \(ServeShutdownTests.logTail(b))")
                    throw error
                }
            }
        } catch {
            await Self.empty(probe, location)
            throw error
        }
        await Self.empty(probe, location)
    }

    static func run(pg: DisposablePostgres, replicas: [ServeProcess], base: String) async throws {
        let (a, b) = (replicas[0], replicas[1])
        var counter = 0
        func plan(_ model: String) throws -> PushPlan {
            counter += 1
            return try Self.plan(model: model, folder: "\(base)/src-\(counter)", index: counter)
        }

        // Before any fault: versions 1 and 2 of three models, one through each replica, and a
        // protected alias whose moves judge a gate.
        var outcomes: [Outcome] = []
        for model in ["acme/crash-a", "acme/crash-b", "acme/crash-c"] {
            for replica in [a, b] {
                outcomes.append(try await Self.push(try plan(model), through: replica))
            }
        }
        let protect = try await CLI.run(["protect", "acme/crash-b", "prod", "--roles", "maintainer", "--gate", "scan-clean"], environment: a.env)
        #expect(protect.status == 0, "\(protect.stdout) \(protect.stderr)")
        let seeded = outcomes.count
        try #require(outcomes.allSatisfy { $0.result.status == 0 }, "\(outcomes.map { "\($0.label): \($0.result.status) \($0.result.stderr)" })")

        let lanes = [
            MoveLane(model: "acme/crash-a", alias: "staging", targets: [1, 2, 1, 2, 1, 2], promote: false),
            MoveLane(model: "acme/crash-b", alias: "prod", targets: [1, 2, 1, 2], promote: true),
            MoveLane(model: "acme/crash-c", alias: "canary", targets: [2, 1, 2, 1], promote: false),
        ]
        let waves: [[String]] = [
            ["acme/crash-a", "acme/crash-b", "acme/crash-c", "acme/crash-new1"],
            ["acme/crash-a", "acme/crash-b", "acme/crash-c", "acme/crash-new2"],
            ["acme/crash-a", "acme/crash-c", "acme/crash-new3"],
        ]
        var plans: [[PushPlan]] = []
        for wave in waves { plans.append(try wave.map { try plan($0) }) }

        // Each client task returns its name and outcomes; nil is the deadline after the last outage.
        let during = try await withThrowingTaskGroup(of: (String, [Outcome])?.self) { group in
            var launched = 0
            var running: Set<String> = []
            func launch(_ wave: Int) {
                for push in plans[wave] {
                    let replica = launched % 2 == 0 ? a : b
                    launched += 1
                    let name = "push \(push.model) from \(push.folder) through :\(replica.port)"
                    running.insert(name)
                    group.addTask { [push] in (name, [try await Self.push(push, through: replica)]) }
                }
                let lane = lanes[wave]
                let name = "the \(lane.model)@\(lane.alias) moves"
                running.insert(name)
                group.addTask { (name, try await Self.moves(lane, replicas: [a, b])) }
            }
            func versionRows() async -> Int? {
                (try? await pg.psql("SELECT count(*) FROM versions")).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }

            launch(0)
            // Crash 1 once the first wave writes: a draft or a version beyond the seeded ones.
            try await ServeShutdownTests.eventually("the first wave writes to the database", within: .seconds(120)) {
                (await versionRows() ?? 0) > seeded
            }
            try await Self.outage(pg, replicas: [a, b]) { launch(1) }

            // Crash 2 once the database took a write after it came back: the model only the
            // second wave's first push creates, started while the database was down.
            try await ServeShutdownTests.eventually("writes reach the database again after the first outage", within: .seconds(120)) {
                (try? await pg.psql("SELECT count(*) FROM models WHERE owner = 'acme' AND name = 'crash-new2'")) == "1\n"
            }
            try await Self.outage(pg, replicas: [a, b]) { launch(2) }

            // Every client ends well within clientBound of the database's return; one that does
            // not waits for an answer that will not come (it is killed, and named).
            group.addTask {
                try await Task.sleep(for: clientBound)
                return nil
            }
            var all: [Outcome] = []
            while let item = try await group.next() {
                guard let (name, outcomes) = item else {
                    Issue.record("still running \(clientBound) after the database came back for good: \(running.sorted())")
                    group.cancelAll()
                    throw TestFailure("clients hung")
                }
                running.remove(name)
                all += outcomes
                if running.isEmpty {
                    group.cancelAll()
                    break
                }
            }
            return all
        }
        outcomes += during

        // Every client waited the outages out and succeeded.
        for outcome in outcomes {
            #expect(outcome.result.status == 0, "\(outcome.label) exited \(outcome.result.status): \(outcome.result.stdout) \(outcome.result.stderr)")
            #expect(outcome.took < clientBound, "\(outcome.label) took \(outcome.took): \(outcome.result.stderr)")
        }
        try #require(outcomes.allSatisfy { $0.result.status == 0 })
        #expect(outcomes.count == seeded + plans.joined().count + lanes.map(\.targets.count).reduce(0, +))

        try await verify(outcomes: outcomes, lanes: lanes, replicas: [a, b], base: base)
    }

    /// Crashes PostgreSQL, runs `during` (which starts clients that meet the outage), waits
    /// until both replicas have answered 503 since the crash and at least three seconds have
    /// passed, then starts PostgreSQL again.
    static func outage(_ pg: DisposablePostgres, replicas: [ServeProcess], during: () -> Void) async throws {
        var before: [Double] = []
        for replica in replicas { before.append(await unavailableAnswers(replica)) }
        try await pg.crash()
        let crashed = ContinuousClock.now
        during()
        try await ServeShutdownTests.eventually("both replicas answer 503 while the database is down", within: .seconds(120)) {
            for (replica, count) in zip(replicas, before) where await unavailableAnswers(replica) <= count { return false }
            return true
        }
        let held = crashed.duration(to: .now)
        if held < .seconds(3) { try await Task.sleep(for: .seconds(3) - held) }
        try await pg.resume()
    }

    /// The 503 answers a replica has given (its `vessel_http_requests_total`, every method).
    static func unavailableAnswers(_ serve: ServeProcess) async -> Double {
        guard let text = try? await ServeDatabaseFaultTests.metrics(serve) else { return 0 }
        return text.split(separator: "\n")
            .filter { $0.hasPrefix("vessel_http_requests_total{") && $0.contains("status=\"503\"") }
            .compactMap { Double($0.split(separator: " ").last ?? "") }
            .reduce(0, +)
    }

    /// Writes a small model of two distinct files; nothing in it is shared with another push.
    static func plan(model: String, folder: String, index: Int) throws -> PushPlan {
        var generator = SystemRandomNumberGenerator()
        var weights = [UInt8](repeating: 0, count: 20_000 + index * 1_000)
        for i in weights.indices { weights[i] = UInt8.random(in: 0...255, using: &generator) }
        let config = Array("{\"model\": \"\(model)\", \"push\": \(index), \"nonce\": \"\(UUID().uuidString)\"}\n".utf8)
        let files = ["weights.bin": weights, "config.json": config]
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (path, bytes) in files {
            guard FileManager.default.createFile(atPath: "\(folder)/\(path)", contents: Data(bytes)) else { throw TestFailure("cannot write \(folder)/\(path)") }
        }
        let manifest = try Manifest(entries: files.map { ManifestEntry(path: $0.key, size: UInt64($0.value.count), digest: APIHarness.digest($0.value)) })
        return PushPlan(model: model, folder: folder, files: files, entries: manifest.entries, digest: RootDigest.of(manifest))
    }

    static func push(_ plan: PushPlan, through replica: ServeProcess) async throws -> Outcome {
        let started = ContinuousClock.now
        let result = try await CLI.run(["push", plan.folder, "--model", plan.model, "--json", "--retry-for", retryFor], environment: replica.env)
        return Outcome(label: "push \(plan.model) from \(plan.folder) through :\(replica.port)", result: result, push: plan, through: replica.port, took: started.duration(to: .now))
    }

    static func moves(_ lane: MoveLane, replicas: [ServeProcess]) async throws -> [Outcome] {
        var outcomes: [Outcome] = []
        var current = "none"
        for (index, target) in lane.targets.enumerated() {
            let replica = replicas[index % replicas.count]
            let arguments = lane.promote
                ? ["promote", lane.model, String(target), "--to", lane.alias, "--expect-current", current, "--json", "--retry-for", retryFor]
                : ["alias", "set", lane.model, lane.alias, String(target), "--expect-current", current, "--json", "--retry-for", retryFor]
            let started = ContinuousClock.now
            let result = try await CLI.run(arguments, environment: replica.env)
            outcomes.append(Outcome(label: "\(arguments.prefix(5).joined(separator: " ")) (expecting \(current)) through :\(replica.port)", result: result, push: nil,
                                    through: replica.port, took: started.duration(to: .now)))
            // A failed move ends the lane: the next one's expectation would be wrong.
            guard result.status == 0 else { break }
            current = String(target)
        }
        return outcomes
    }

    static func verify(outcomes: [Outcome], lanes: [MoveLane], replicas: [ServeProcess], base: String) async throws {
        // What the clients were told.
        var acknowledged: [String: [Int: PushPlan]] = [:]
        var pushedThrough: [String: Int] = [:]
        for outcome in outcomes {
            guard let plan = outcome.push else { continue }
            let reply = try outcome.result.json()
            let number = try #require(reply["version"] as? Int, "\(outcome.result.stdout)")
            #expect(reply["model"] as? String == plan.model)
            #expect(reply["digest"] as? String == plan.digest.description, "\(outcome.label): reported \(reply["digest"] ?? "nil"), the folder makes \(plan.digest)")
            #expect(reply["state"] as? String == "ready", "\(outcome.result.stdout)")
            #expect(acknowledged[plan.model]?[number] == nil, "\(plan.model):\(number) was acknowledged twice")
            acknowledged[plan.model, default: [:]][number] = plan
            pushedThrough["\(plan.model):\(number)"] = outcome.through
        }

        for replica in replicas {
            let api = replica.client()
            do {
                for (model, versions) in acknowledged.sorted(by: { $0.key < $1.key }) {
                    let name = try ModelName(model)
                    // Exactly the acknowledged versions exist: none lost, none nobody was told about.
                    let listed = try await api.versions(name, filter: VersionFilter()).items
                    #expect(Set(listed.map(\.version)) == Set(versions.keys), "\(model) through :\(replica.port): listed \(listed.map(\.version).sorted()), acknowledged \(versions.keys.sorted())")
                    #expect(listed.count == Set(listed.map(\.version)).count)
                    for (number, plan) in versions {
                        let info = try await api.resolve(Reference(model: name, selector: .version(number)))
                        #expect(info.digest == plan.digest, "\(model):\(number) through :\(replica.port)")
                        #expect(info.state == .ready)
                        let stored = (info.manifest ?? []).map { [$0.path, String($0.size), $0.digest.description] }
                        #expect(stored == plan.entries.map { [$0.path, String($0.size), $0.digest.description] }, "\(model):\(number) through :\(replica.port)")
                    }
                    // Every alias points at a version that exists, with its digest.
                    for alias in try await api.aliases(name) {
                        let plan = versions[alias.version]
                        #expect(plan != nil, "\(model)@\(alias.alias) points at \(alias.version), which nobody pushed")
                        #expect(plan.map { $0.digest == alias.digest } ?? false, "\(model)@\(alias.alias)")
                    }
                }
                // Each lane's alias ends where its last move sent it, and each move is recorded once.
                for lane in lanes {
                    let name = try ModelName(lane.model)
                    let alias = try await api.aliases(name).first { $0.alias == lane.alias }
                    #expect(alias?.version == lane.targets.last, "\(lane.model)@\(lane.alias) is at \(alias.map { String($0.version) } ?? "nothing")")
                    let moves = try await api.auditEntries(model: name).items
                        .filter { $0.action == "alias.set" && $0.target == "alias/\(lane.model)@\(lane.alias)" }
                        .sorted { $0.seq < $1.seq }
                    #expect(moves.compactMap(\.after) == lane.targets.map(String.init), "\(lane.model)@\(lane.alias) moves recorded: \(moves.map { "\($0.before ?? "-")→\($0.after ?? "-")" })")
                }
            } catch {
                await api.shutdown()
                throw error
            }
            await api.shutdown()
        }

        // The bytes: every version pulled through the replica that did not push it.
        var index = 0
        for (model, versions) in acknowledged.sorted(by: { $0.key < $1.key }) {
            for (number, plan) in versions.sorted(by: { $0.key < $1.key }) {
                index += 1
                let reader = try #require(replicas.first { $0.port != pushedThrough["\(model):\(number)"] })
                let target = "\(base)/pulled-\(index)"
                let pull = try await CLI.run(["pull", "\(model):\(number)", target, "--cache-dir", "\(base)/cache-\(index)", "--json"], environment: reader.env)
                #expect(pull.status == 0, "\(model):\(number): \(pull.stderr)")
                for (path, bytes) in plan.files {
                    #expect(FileManager.default.contents(atPath: "\(target)/\(path)") == Data(bytes), "\(model):\(number) \(path)")
                }
            }
        }

        let verification = try await CLI.run(["audit", "verify", "--json"], environment: replicas[1].env)
        #expect(verification.status == 0, "\(verification.stdout) \(verification.stderr)")
        #expect((try? verification.json()["ok"] as? Bool) == true, "\(verification.stdout)")
    }

    /// Removes every object version the test left under its prefix.
    static func empty(_ probe: S3BlobStore, _ location: S3Location) async {
        if let versions = try? await probe.client.listObjectVersions(prefix: location.key("")) {
            for version in versions { try? await probe.client.deleteObject(version.key, versionID: version.versionID) }
        }
        await probe.shutdown()
    }
}
