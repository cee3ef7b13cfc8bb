import Testing
import VesselCore
@testable import VesselMetadata
@testable import VesselServer

/// The delivery loop's bookkeeping for direct sends (`DeliveryStreams`): which events go straight out,
/// which become rows, and how far a subscription's stored cursor may move.
@Suite struct DeliveryStreamsTests {
    static func subscription(_ id: String) throws -> WebhookSubscription {
        WebhookSubscription(id: id, url: "http://127.0.0.1:9/", filter: try EventFilter(patterns: ["*"], scope: .registry), format: .json,
                            secret: "0123456789abcdef", createdAt: 0, createdBy: "t")
    }

    static func events(_ models: [Int64: String]) -> [OutboxEvent] {
        models.keys.sorted().map { OutboxEvent(seq: $0, id: "evt_\($0)", type: "alias.moved", at: 0, model: models[$0]!, payload: [:]) }
    }

    static func key(_ webhook: String, _ model: String) -> DeliveryStreamKey { DeliveryStreamKey(webhook: webhook, model: model) }

    static func take(_ streams: inout DeliveryStreams, _ key: DeliveryStreamKey) throws -> DirectWork {
        let work = streams.take(key)
        return try #require(work)
    }

    static func recorded(held: Bool = false) -> DirectOutcome { DirectOutcome(retryAt: nil, recorded: true, held: held) }

    /// The stored cursor never passes an event whose direct send is not recorded yet, even
    /// when later rounds are recorded first; a running stream takes new events in memory.
    @Test func theStoredCursorWaitsForEveryDirectSendOfARound() throws {
        let a = try Self.subscription("whk_a")
        var streams = DeliveryStreams()
        streams.reset(held: [])
        #expect(streams.follow([(a, 0)]) == 0)

        let first = streams.dispatch(Self.events([1: "acme/x", 2: "acme/y", 3: "acme/x"]), to: [a], now: 5, concurrency: 8)
        #expect(first.start.map(\.key) == [Self.key("whk_a", "acme/x"), Self.key("whk_a", "acme/y")])
        #expect(first.rows.isEmpty && first.cursors.isEmpty, "nothing is settled before the sends are recorded")
        let x1 = try Self.take(&streams, Self.key("whk_a", "acme/x")), y1 = try Self.take(&streams, Self.key("whk_a", "acme/y"))
        #expect(x1.deliveries.map(\.eventSeq) == [1, 3] && x1.deliveries.allSatisfy { !$0.stored } && y1.rounds == [0])

        // x's task is done and ends; y's is still sending and takes its new event in memory.
        _ = streams.settle(x1, key: Self.key("whk_a", "acme/x"), Self.recorded())
        #expect(streams.take(Self.key("whk_a", "acme/x")) == nil && !streams.streams.contains(Self.key("whk_a", "acme/x")))
        let second = streams.dispatch(Self.events([4: "acme/x", 5: "acme/y"]), to: [a], now: 6, concurrency: 8)
        #expect(second.start.map(\.key) == [Self.key("whk_a", "acme/x")] && second.rows.isEmpty && second.cursors.isEmpty)
        let y2 = try Self.take(&streams, Self.key("whk_a", "acme/y"))
        #expect(y2.deliveries.map(\.eventSeq) == [5] && y2.rounds == [3])

        _ = streams.settle(y1, key: Self.key("whk_a", "acme/y"), Self.recorded())
        #expect(streams.cursorsToStore().map(\.cursor) == [3], "up to where the rounds still sending began")
        streams.stored(streams.cursorsToStore(), epoch: second.epoch)
        #expect(streams.cursorsToStore().isEmpty)
        _ = streams.settle(y2, key: Self.key("whk_a", "acme/y"), Self.recorded())
        #expect(streams.cursorsToStore().isEmpty, "x's second round is still sending")
        _ = streams.settle(try Self.take(&streams, Self.key("whk_a", "acme/x")), key: Self.key("whk_a", "acme/x"), Self.recorded())
        #expect(streams.cursorsToStore().map(\.cursor) == [5])
    }

    /// A failed send holds its stream back: what was handed to it meanwhile comes back to be
    /// stored as rows, and later events become rows. Streams beyond the slots get rows too.
    @Test func aFailedSendHoldsItsStreamBackAndSlotsAreLimited() throws {
        let a = try Self.subscription("whk_a")
        var streams = DeliveryStreams()
        streams.reset(held: [])
        _ = streams.follow([(a, 0)])
        let first = streams.dispatch(Self.events([1: "acme/x", 2: "acme/y", 3: "acme/z"]), to: [a], now: 5, concurrency: 2)
        #expect(first.start.map(\.key) == [Self.key("whk_a", "acme/x"), Self.key("whk_a", "acme/y")] && first.rows.map(\.eventSeq) == [3], "z found no free slot")
        let x = try Self.take(&streams, Self.key("whk_a", "acme/x"))
        _ = streams.dispatch(Self.events([4: "acme/x"]), to: [a], now: 6, concurrency: 2)
        let leftover = streams.settle(x, key: Self.key("whk_a", "acme/x"), DirectOutcome(retryAt: 50, recorded: true, held: true))
        #expect(leftover?.deliveries.map(\.eventSeq) == [4] && streams.retryAt[Self.key("whk_a", "acme/x")] == 50 && streams.held.contains(Self.key("whk_a", "acme/x")))
        let third = streams.dispatch(Self.events([5: "acme/x", 6: "acme/y", 7: "acme/z"]), to: [a], now: 7, concurrency: 2)
        #expect(third.start.isEmpty && third.rows.map(\.eventSeq) == [5, 7], "x and z have rows to send first; y's task takes 6")
        #expect(streams.cursorsToStore().isEmpty)
        _ = streams.settle(try #require(leftover), key: Self.key("whk_a", "acme/x"), Self.recorded())
        streams.end(Self.key("whk_a", "acme/x"))
        #expect(streams.cursorsToStore().isEmpty, "y's events are not recorded yet")
        let y = try Self.take(&streams, Self.key("whk_a", "acme/y"))
        #expect(y.deliveries.map(\.eventSeq) == [2, 6] && y.rounds == [0, 4])
        _ = streams.settle(y, key: Self.key("whk_a", "acme/y"), Self.recorded())
        #expect(streams.cursorsToStore().map(\.cursor) == [7])
    }

    /// A slow receiver's stream takes at most `queueLimit` events in memory; the rest become
    /// rows, sent once its task is done.
    @Test func aSlowStreamQueuesInMemoryUpToALimit() throws {
        let a = try Self.subscription("whk_a")
        var streams = DeliveryStreams()
        streams.reset(held: [])
        _ = streams.follow([(a, 0)])
        let count = Int64(DeliveryStreams.queueLimit) + 5
        let round = streams.dispatch(Self.events(Dictionary(uniqueKeysWithValues: (1...count).map { ($0, "acme/x") })), to: [a], now: 5, concurrency: 8)
        #expect(round.start.count == 1 && round.rows.map(\.eventSeq) == Array(Int64(DeliveryStreams.queueLimit + 1)...count))
        #expect(streams.held == [Self.key("whk_a", "acme/x")] && streams.direct[Self.key("whk_a", "acme/x")]?.deliveries.count == DeliveryStreams.queueLimit)
    }

    /// A send that could not be recorded makes the next round start over from the database;
    /// work taken before that settles nothing afterwards.
    @Test func anUnrecordedSendStartsTheStateOver() throws {
        let a = try Self.subscription("whk_a"), b = try Self.subscription("whk_b")
        var streams = DeliveryStreams()
        streams.reset(held: [])
        _ = streams.follow([(a, 0), (b, 0)])
        let round = streams.dispatch(Self.events([1: "acme/x", 2: "acme/y"]), to: [a, b], now: 5, concurrency: 8)
        #expect(round.start.count == 4)
        var taken: [DirectWork] = []
        for stream in round.start { taken.append(try Self.take(&streams, stream.key)) }
        _ = streams.settle(taken[0], key: round.start[0].key, DirectOutcome(retryAt: nil, recorded: false, held: false))
        streams.end(round.start[0].key)
        #expect(streams.reload)
        streams.reset(held: [Self.key("whk_b", "acme/y")])
        #expect(streams.follow([(a, 0), (b, 0)]) == 0 && !streams.reload)
        for (index, stream) in round.start.enumerated().dropFirst() { _ = streams.settle(taken[index], key: stream.key, Self.recorded()) }
        #expect(streams.cursorsToStore().isEmpty && streams.unsettled.isEmpty)
        let again = streams.dispatch(Self.events([1: "acme/x", 2: "acme/y"]), to: [a, b], now: 6, concurrency: 8)
        #expect(again.start.map(\.key) == [Self.key("whk_a", "acme/x")], "the others' tasks are still running and take the events")
        #expect(again.rows.map(\.webhookID) == ["whk_b"] && streams.direct[Self.key("whk_a", "acme/y")]?.deliveries.map(\.eventSeq) == [2])
    }

    /// After reading which streams have pending rows: a stream held before the read and not
    /// in it is drained; one held during the read stays held (the read may predate its rows).
    @Test func aStreamHeldDuringTheReadStaysHeld() {
        let held = WebhookDelivery.held([(webhook: "a", model: "x")], since: [Self.key("a", "x"), Self.key("a", "y")], now: [Self.key("a", "x"), Self.key("a", "y"), Self.key("a", "z")])
        #expect(held == [Self.key("a", "x"), Self.key("a", "z")])
    }

    /// A receiver that answers costs one attempt row per event: no delivery rows. Timeouts
    /// are generous: on a loaded machine a 400 ms response timeout fails sends to a healthy
    /// receiver, and a failed send rightly leaves rows.
    @Test func aHealthyReceiverCostsOnlyAttemptRows() async throws {
        try await WebhookReceiver.with { receiver in
            try await APIHarness.with(configure: WebhookTesting.patient) { harness, client in
                let hook = try await WebhookTesting.subscribe(client, CreateWebhookRequest(url: receiver.url, events: ["model.*"]))
                let store = harness.registry.store
                try await WebhookTesting.delivering(harness.registry) {
                    for index in 0..<20 {
                        _ = try await store.createModel(try ModelName("acme/m\(index % 3)x\(index)"), description: "", tags: [], change: WebhookTesting.system)
                    }
                    try await receiver.wait { Set($0.compactMap(\.eventID)).count >= 20 }
                    try await WebhookTesting.settle(store)
                }
                let counts = try await store.deliveries.read { db in
                    try await db.raw("SELECT (SELECT COUNT(*) FROM webhook_deliveries) AS rows, (SELECT COUNT(*) FROM webhook_attempts) AS attempts").first()
                        .map { (try $0.decode(column: "rows", as: Int.self), try $0.decode(column: "attempts", as: Int.self)) }
                }
                #expect(counts?.0 == 0 && counts?.1 == receiver.accepted.count)
                #expect(try await store.deliveryAttempts(webhook: hook.id, limit: 100, cursor: nil).items.filter { $0.status == "delivered" }.count == receiver.accepted.count)
            }
        }
    }
}
