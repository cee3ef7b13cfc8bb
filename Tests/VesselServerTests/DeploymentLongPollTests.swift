import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing
import VesselCore
@testable import VesselMetadata
@testable import VesselClient
@testable import VesselServer

/// Long-polling the routing document (`GET …/deployments/:env?wait=&after=`, issue 23): at once
/// when the revision already passed `after`, as soon as a change arrives (through this replica,
/// or through another one on the same PostgreSQL database), 304 without a body when the wait
/// runs out, 404 at once for an unknown deployment, the current state at once when the server
/// shuts down; and a long-poll is not API activity for webhook pacing. The tests assert the
/// order of things (the poll was waiting before the change, and answered with the change),
/// never how long something took, except "at once" against a wait ten times longer.
@Suite(.timeLimit(.minutes(3)))
struct DeploymentLongPollTests {
    static let base = DeploymentAPITests.base
    static let key = DeploymentWatch.Key(model: "acme/m", env: "prod-eu")

    static func poll(_ client: any TestClientProtocol, _ query: String) async throws -> (HTTPResponse.Status, String, DeploymentInfo?) {
        try await client.execute(uri: "\(base)/prod-eu?\(query)", method: .get, headers: APIHarness.auth) { response in
            (response.status, String(buffer: response.body), try? APIHarness.decode(DeploymentInfo.self, response))
        }
    }

    @Test func answersAtOnceTimesOutWith304AndRefusesBadParameters() async throws {
        try await APIHarness.with { _, client in
            try await DeploymentAPITests.push(client, 2)
            let started = ContinuousClock.now
            let unknown = try await Self.poll(client, "wait=60&after=0")
            #expect(unknown.0 == .notFound && unknown.1.contains("not_found"), "\(unknown.1)")
            #expect(started.duration(to: .now) < .seconds(30), "an unknown deployment answers at once, not after its 60 s wait")

            _ = try await DeploymentAPITests.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 1))
            let passed = try await Self.poll(client, "wait=60&after=0")
            #expect(passed.0 == .ok && passed.2?.revision == 1 && passed.2?.routes.count == 1, "\(passed.1)")
            #expect(started.duration(to: .now) < .seconds(30), "a revision past `after` answers at once")
            let noAfter = try await Self.poll(client, "wait=60")
            #expect(noAfter.0 == .ok && noAfter.2?.revision == 1)

            let timedOut = try await Self.poll(client, "wait=0.2&after=1")
            #expect(timedOut.0 == .notModified && timedOut.1.isEmpty, "\(timedOut.1)")
            let ahead = try await Self.poll(client, "wait=0.1&after=5")
            #expect(ahead.0 == .notModified, "a revision above the current one waits too")

            for bad in ["wait=-1", "wait=soon", "wait=1&after=-2", "wait=1&after=x"] {
                let refused = try await Self.poll(client, bad)
                #expect(refused.0 == .badRequest && refused.1.contains("invalid_argument"), "\(bad): \(refused.1)")
            }
        }
    }

    /// A poll waiting on revision 1 answers with revision 2 once a deploy made it; while it
    /// waits it is not counted as a request in flight (webhook delivery would pace itself).
    @Test func aWaitingPollAnswersWithTheChangeAndIsNotAPIActivity() async throws {
        try await APIHarness.with { harness, client in
            try await DeploymentAPITests.push(client, 2)
            _ = try await DeploymentAPITests.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 1))
            let watch = harness.registry.store.deploymentWatch
            let polls = (0..<3).map { _ in Task { try await Self.poll(client, "wait=60&after=1") } }
            await watch.untilWaiting(atLeast: 3)
            #expect(harness.registry.requestActivity.inFlight == 0, "a long-poll is not API activity")
            let deployed = try await DeploymentAPITests.post(client, "\(Self.base)/prod-eu", DeployRequest(version: 2, expectRevision: 1))
            #expect(deployed.2?.deployment?.revision == 2)
            for poll in polls {
                let answer = try await poll.value
                #expect(answer.0 == .ok && answer.2?.revision == 2 && answer.2?.status == .rollingOut, "\(answer.1)")
                #expect(answer.2?.routes.map(\.weight) == [100, 0])
            }
            #expect(watch.waiting == 0)
        }
    }

    /// Two registries on one PostgreSQL database, as two replicas: a poll waiting on replica A
    /// answers with the rollback made through replica B's API (only NOTIFY reaches A).
    @Test(.enabled(if: TwoReplicaTests.postgresURL != nil, "needs VESSEL_TEST_POSTGRES_URL"))
    func aChangeThroughAnotherReplicaAnswersTheWaitingPoll() async throws {
        guard let text = TwoReplicaTests.postgresURL else { return }
        try await TwoReplicaTests.withDatabase(text) { url in
            try await Self.withReplica(url) { replicaA, clientA in
                try await Self.withReplica(url) { _, clientB in
                    try await DeploymentAPITests.push(clientB, 2)
                    _ = try await DeploymentAPITests.post(clientB, "\(Self.base)/prod-eu", DeployRequest(version: 1))
                    _ = try await DeploymentAPITests.post(clientB, "\(Self.base)/prod-eu", DeployRequest(version: 2, steps: [50, 100]))
                    _ = try await DeploymentAPITests.post(clientB, "\(Self.base)/prod-eu/advance", DeploymentChangeRequest())
                    let listener = try #require(replicaA.store.deploymentListenerIfStarted)
                    await listener.untilConnected(times: 1)
                    let poll = Task { try await Self.poll(clientA, "wait=60&after=3") }
                    await replicaA.store.deploymentWatch.untilWaiting(atLeast: 1)
                    let rollback = try await DeploymentAPITests.post(clientB, "\(Self.base)/prod-eu/rollback", DeploymentChangeRequest(reason: "through B"))
                    #expect(rollback.2?.deployment?.revision == 4)
                    let answer = try await poll.value
                    // 200, not the 304 of a wait that ran out: woken by B's change.
                    #expect(answer.0 == .ok && answer.2?.revision == 4 && answer.2?.status == .rolledBack, "\(answer.1)")
                    #expect(answer.2?.routes.map(\.weight) == [100, 0])
                }
            }
        }
    }

    /// A registry on `url` (PostgreSQL), served in-process.
    static func withReplica(_ url: String, _ body: @escaping @Sendable (Registry, any TestClientProtocol) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-poll-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = ServerOptions(dataDir: dir, adminToken: APIHarness.adminToken)
        options.databaseURL = url
        let registry = try await Registry.openEmbedded(options, logger: Logger(label: "test"))
        do {
            try await Application(router: registry.makeRouter().0).test(.router) { client in try await body(registry, client) }
        } catch {
            await registry.shutdown()
            throw error
        }
        await registry.shutdown()
    }

    /// `vessel serve`'s graceful shutdown: a poll with a 600 s wait answers at once with the
    /// current state (200), so its router asks again elsewhere.
    @Test func aWaitingPollAnswersWithTheCurrentStateWhenTheServerShutsDown() async throws {
        try await LiveHarness.with { live in
            let folder = try live.folder("v1", ["config.json": Array("{\"v\": 1}".utf8)])
            let model = try ModelName("acme/m")
            _ = try await Pusher(api: live.api).push(folder: folder, model: model, alias: nil, description: nil)
            #expect(try await live.api.deploy(model, env: try AliasName("prod-eu"), DeployRequest(version: 1)).deployment?.revision == 1)
            let registry = live.registry
            let port = Mutex<Int?>(nil)
            let running = AsyncStream<Void>.makeStream()
            let app = Application(router: registry.makeRouter().0, configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: { channel in
                port.withLock { $0 = channel.localAddress?.port }
                running.continuation.yield()
            })
            var configuration = ServiceGroupConfiguration(services: [.init(service: app)], logger: Logger(label: "test"))
            configuration.maximumGracefulShutdownDuration = .seconds(600)
            let group = ServiceGroup(configuration: configuration)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                var runningSignals = running.stream.makeAsyncIterator()
                _ = await runningSignals.next()
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(try #require(port.withLock { $0 }))\(Self.base)/prod-eu?wait=60&after=1")
                request.headers.add(name: "Authorization", value: "Bearer \(APIHarness.adminToken)")
                let answer = Task { () throws -> (UInt, String) in
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(600))
                    return (response.status.code, String(buffer: try await response.body.collect(upTo: 1 << 20)))
                }
                await registry.store.deploymentWatch.untilWaiting(atLeast: 1)
                let triggered = ContinuousClock.now
                await group.triggerGracefulShutdown()
                let (status, body) = try await answer.value
                #expect(status == 200 && body.contains("\"revision\":1"), "\(body)")
                #expect(triggered.duration(to: .now) < .seconds(30), "answered at once, not after its wait")
                try await tasks.waitForAll()
            }
        }
    }
}
