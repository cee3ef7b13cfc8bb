import Foundation
import Logging
import SQLKit
import Testing
import VesselCore
@testable import VesselMetadata

/// The waiters of deployment long-polls (`DeploymentWatch`): who a publication wakes, that a
/// change between subscribing and waiting is not missed, `wakeAll`, cancellation; that a
/// committed change publishes and a failed one does not; and on PostgreSQL that a change
/// through another store wakes this one's waiters by NOTIFY, and that a lost listening
/// connection reconnects and wakes everyone to re-read. No test sleeps: each waits for the
/// state it needs (`untilWaiting`, `untilConnected`), so a missing wake-up hangs it until its
/// time limit rather than passing by luck.
@Suite(.timeLimit(.minutes(2)))
struct DeploymentWatchTests {
    let key = DeploymentWatch.Key(model: "acme/m", env: "prod-eu")
    let other = DeploymentWatch.Key(model: "acme/m", env: "staging")

    @Test func onlyAHigherRevisionOfItsOwnDeploymentWakesAWaiter() async throws {
        let watch = DeploymentWatch()
        let subscription = watch.subscribe(key, after: 3)
        async let woken = subscription.wait()
        await watch.untilWaiting(atLeast: 1)
        watch.publish(key, revision: 3)
        watch.publish(key, revision: 2)
        watch.publish(other, revision: 10)
        #expect(watch.waiting == 1, "a revision at or below `after`, or another deployment's, wakes no one")
        watch.publish(key, revision: 4)
        _ = await woken
        #expect(watch.waiting == 0)
    }

    @Test func aChangePublishedBetweenSubscribingAndWaitingIsNotMissed() async {
        let watch = DeploymentWatch()
        let subscription = watch.subscribe(key, after: 1)
        watch.publish(key, revision: 2)
        await subscription.wait()
        #expect(watch.waiting == 0)
    }

    /// A subscription stays subscribed across wake-ups: a publication between two waits is kept
    /// for the next one, and each wake-up's ticket orders it after everything before it.
    @Test func aSubscriptionKeepsAWakeUpThatCameBetweenTwoWaits() async {
        let watch = DeploymentWatch()
        let subscription = watch.subscribe(key, after: 1)
        let before = watch.ticket()
        #expect(before > subscription.since)
        async let first = subscription.wait()
        await watch.untilWaiting(atLeast: 1)
        watch.publish(key, revision: 2)
        let woken = await first
        #expect(woken > before)
        watch.publish(key, revision: 3)
        #expect(watch.waiting == 0)
        let second = await subscription.wait()
        #expect(second > woken, "the publication that came while it was not waiting")
        let unrelated = watch.ticket()
        watch.wakeAll()
        let third = await subscription.wait()
        #expect(third > unrelated)
        subscription.cancel()
        #expect(await subscription.wait() > third, "a cancelled subscription returns at once")
    }

    @Test func wakeAllWakesEveryWaiterOfEveryDeployment() async {
        let watch = DeploymentWatch()
        let key = key, other = other
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<100 {
                let subscription = watch.subscribe(index % 2 == 0 ? key : other, after: index)
                group.addTask { _ = await subscription.wait() }
            }
            await watch.untilWaiting(atLeast: 100)
            watch.wakeAll()
            await group.waitForAll()
        }
        #expect(watch.waiting == 0)
    }

    @Test func aCancelledWaitReturnsAndLeavesNoWaiterBehind() async {
        let watch = DeploymentWatch()
        let subscription = watch.subscribe(key, after: 0)
        let task = Task { await subscription.wait() }
        await watch.untilWaiting(atLeast: 1)
        task.cancel()
        _ = await task.value
        #expect(watch.waiting == 0)
        watch.publish(key, revision: 1)
        // A subscription dropped without waiting is removed too.
        do { _ = watch.subscribe(key, after: 0) }
        let later = watch.subscribe(key, after: 0)
        async let woken = later.wait()
        await watch.untilWaiting(atLeast: 1)
        #expect(watch.waiting == 1)
        watch.publish(key, revision: 1)
        _ = await woken
    }

    @Test func payloadsRoundTripAndAnUnreadableOneWakesEveryone() async {
        #expect(DeploymentWatch.parse(DeploymentWatch.payload(key, revision: 12)).map { "\($0.0) \($0.1)" } == "acme/m prod-eu 12")
        for bad in ["", "acme/m prod-eu", "acme/m prod-eu x", "a b c d", " prod-eu 1"] { #expect(DeploymentWatch.parse(bad) == nil, "\(bad)") }
        let watch = DeploymentWatch()
        let subscription = watch.subscribe(other, after: 5)
        async let woken = subscription.wait()
        await watch.untilWaiting(atLeast: 1)
        watch.received("acme/m prod-eu 9")
        #expect(watch.waiting == 1)
        watch.received("garbled")
        _ = await woken
    }

    // MARK: The store publishes committed changes

    /// A change publishes its revision once it committed; a change that fails publishes nothing.
    @Test(arguments: MetadataHarness.backends)
    func aCommittedChangeIsPublishedAndAFailedOneIsNot(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let conformance = DeploymentConformanceTests()
            try await conformance.versions(store, 2)
            let first = store.deploymentWatch.subscribe(key, after: 0)
            _ = try await conformance.deploy(store, 1)
            await first.wait()

            let subscription = store.deploymentWatch.subscribe(key, after: 1)
            async let woken = subscription.wait()
            await store.deploymentWatch.untilWaiting(atLeast: 1)
            await expectCode(.preconditionFailed) { _ = try await conformance.deploy(store, 2, expect: 0) }
            await expectCode(.conflict) { _ = try await conformance.rollback(store) }
            #expect(store.deploymentWatch.waiting == 1, "nothing committed, nothing published")
            _ = try await conformance.deploy(store, 2)
            _ = await woken
        }
    }

    // MARK: PostgreSQL: other replicas, reconnects

    /// Two stores on one database, as two replicas: a change through one wakes the other's
    /// waiter, which only NOTIFY can reach (each store publishes in process to its own watch).
    @Test(.enabled(if: MetadataHarness.postgresURL != nil, "needs VESSEL_TEST_POSTGRES_URL"))
    func aChangeThroughAnotherReplicaWakesThisOnesWaiters() async throws {
        try await withTwoReplicas { replicaA, replicaB in
            let conformance = DeploymentConformanceTests()
            try await conformance.versions(replicaA, 2)
            _ = try await conformance.deploy(replicaA, 1)
            let subscription = replicaB.deploymentWatch.subscribe(key, after: 1)
            async let woken = subscription.wait()
            await replicaB.deploymentWatch.untilWaiting(atLeast: 1)
            _ = try await conformance.deploy(replicaA, 2)
            _ = await woken
            #expect(!Task.isCancelled, "woken by the change, not by the time limit")
            #expect(try await replicaB.deployment(model: try ModelName("acme/m"), env: try AliasName("prod-eu")).revision == 2)
        }
    }

    /// The listening connection is killed: the listener connects again and wakes every waiter,
    /// which re-reads (a change made while no one listened would otherwise go unnoticed).
    @Test(.enabled(if: MetadataHarness.postgresURL != nil, "needs VESSEL_TEST_POSTGRES_URL"))
    func aLostListeningConnectionReconnectsAndWakesEveryoneToReRead() async throws {
        try await withTwoReplicas { replicaA, replicaB in
            let listener = try #require(replicaB.deploymentListenerIfStarted)
            let pid = try #require(listener.backendPID)
            let subscription = replicaB.deploymentWatch.subscribe(key, after: 100)
            async let woken = subscription.wait()
            await replicaB.deploymentWatch.untilWaiting(atLeast: 1)
            try await replicaA.backend.read { db in
                _ = try await db.raw("SELECT pg_terminate_backend(\(bind: pid)) AS done").all()
            }
            await listener.untilConnected(times: 2)
            _ = await woken
            #expect(!Task.isCancelled, "woken by the reconnect, not by the time limit")
            #expect(listener.backendPID != nil && listener.backendPID != pid)
        }
    }

    /// Replica A, and replica B listening (connected once), on one fresh database.
    func withTwoReplicas(_ body: (SQLMetadataStore, SQLMetadataStore) async throws -> Void) async throws {
        guard let url = MetadataHarness.postgresURL else { return }
        let logger = Logger(label: "test")
        try await PostgresTestDatabase.with(url: url, logger: logger) { backendA in
            try await Migrations.run(on: backendA, logger: logger)
            let backendB = try await PostgresBackend.connect(url: backendA.url, maxConnections: 4, logger: logger)
            let replicaA = SQLMetadataStore(backend: backendA), replicaB = SQLMetadataStore(backend: backendB)
            replicaB.startWatchingDeployments(logger: logger)
            do {
                let listener = try #require(replicaB.deploymentListenerIfStarted)
                await listener.untilConnected(times: 1)
                try await body(replicaA, replicaB)
            } catch {
                await replicaB.stopWatchingDeployments()
                await backendB.shutdown()
                throw error
            }
            await replicaB.stopWatchingDeployments()
            await backendB.shutdown()
        }
    }
}
