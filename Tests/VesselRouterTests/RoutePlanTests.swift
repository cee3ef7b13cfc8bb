import Testing
import VesselCore
@testable import VesselRouter

/// How the router picks a pool and what it reports: the weights of the routing document, a
/// `Vessel-Slot` pin, the p99 of a window.
@Suite struct RoutePlanTests {
    static let blue = Digest(bytes: [UInt8](repeating: 1, count: 32))
    static let green = Digest(bytes: [UInt8](repeating: 2, count: 32))

    static func plan(blue: Int, green: Int?) -> RoutePlan {
        var routes = [DeploymentRoute(slot: .blue, version: 1, digest: Self.blue, weight: blue)]
        if let green { routes.append(DeploymentRoute(slot: .green, version: 2, digest: Self.green, weight: green)) }
        return RoutePlan(revision: 3, status: .rollingOut, routes: routes)
    }

    @Test func weightsSplitTheHundredRollsInOrder() {
        let plan = Self.plan(blue: 90, green: 10)
        let slots = (0..<100).map { plan.route(pinned: nil, roll: $0)?.slot }
        #expect(slots.filter { $0 == .blue }.count == 90 && slots.filter { $0 == .green }.count == 10)
        #expect(slots[89] == .blue && slots[90] == .green)
        let live = Self.plan(blue: 100, green: 0)
        #expect((0..<100).allSatisfy { live.route(pinned: nil, roll: $0)?.slot == .blue }, "a pool at weight 0 takes nothing")
        let flipped = RoutePlan(revision: 4, status: .completed, routes: [DeploymentRoute(slot: .green, version: 2, digest: Self.green, weight: 100),
                                                                            DeploymentRoute(slot: .blue, version: 1, digest: Self.blue, weight: 0)])
        #expect((0..<100).allSatisfy { flipped.route(pinned: nil, roll: $0)?.slot == .green })
    }

    @Test func aPinReachesItsPoolWhateverItsWeight() {
        let plan = Self.plan(blue: 100, green: 0)
        #expect(plan.route(pinned: .green, roll: 0)?.digest == Self.green)
        #expect(plan.route(pinned: .blue, roll: 99)?.digest == Self.blue)
        #expect(Self.plan(blue: 100, green: nil).route(pinned: .green, roll: 0) == nil, "a pool holding no version")
        #expect(plan.summary == "blue v1 100%, green v2 0%")
    }

    @Test func theTableTakesOnlyNewerRevisions() {
        let table = RoutingTable()
        #expect(table.update(Self.plan(blue: 90, green: 10)).taken)
        var older = Self.plan(blue: 50, green: 50)
        older.revision = 2
        #expect(!table.update(older).taken && table.current?.routes.map(\.weight) == [90, 10])
        var newer = Self.plan(blue: 100, green: 0)
        newer.revision = 4
        let (taken, previous) = table.update(newer)
        #expect(taken && previous?.revision == 3 && table.current?.revision == 4)
    }

    @Test func theP99IsWithinFivePercentAndWindowsAreDrained() throws {
        var histogram = LatencyHistogram()
        #expect(histogram.quantileMs(0.99) == nil)
        for micros in 1...1000 { histogram.record(micros: Double(micros * 100)) }
        let p99 = try #require(histogram.quantileMs(0.99))
        #expect(p99 >= 99 && p99 <= 99 * 1.05 + 0.01, "\(p99)")
        let p50 = try #require(histogram.quantileMs(0.5))
        #expect(p50 >= 50 && p50 <= 50 * 1.05 + 0.01, "\(p50)")

        let stats = PoolStats()
        stats.record(slot: .green, digest: Self.green, micros: 800, error: true)
        stats.record(slot: .green, digest: Self.green, micros: 900, error: false)
        stats.record(slot: .blue, digest: Self.blue, micros: 100, error: false)
        let windows = stats.drain()
        let green = try #require(windows[PoolStats.Key(slot: .green, digest: Self.green)])
        #expect(green.requests == 2 && green.errors == 1 && windows.count == 2)
        #expect(stats.drain().isEmpty, "a drained window starts again from nothing")
    }
}
