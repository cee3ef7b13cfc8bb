import Synchronization
import VesselCore

/// What the router follows: the routing document of one deployment, as last read.
public struct RoutePlan: Sendable, Equatable {
    public var revision: Int
    public var status: DeploymentStatus
    public var routes: [DeploymentRoute]

    public init(revision: Int, status: DeploymentStatus, routes: [DeploymentRoute]) {
        self.revision = revision
        self.status = status
        self.routes = routes
    }

    public init(_ info: DeploymentInfo) {
        self.init(revision: info.revision, status: info.status, routes: info.routes)
    }

    /// `blue v1 90%, green v2 10%`.
    public var summary: String {
        routes.isEmpty ? "no pool holds a version" : routes.map { "\($0.slot.rawValue) v\($0.version) \($0.weight)%" }.joined(separator: ", ")
    }

    /// The route a request takes: the pinned pool's (whatever its weight), else the pool whose
    /// share of 0..<100 holds `roll`. nil when that pool holds no version (or no route has weight).
    public func route(pinned: DeploymentSlot?, roll: Int) -> DeploymentRoute? {
        if let pinned { return routes.first { $0.slot == pinned } }
        var upper = 0
        for route in routes where route.weight > 0 {
            upper += route.weight
            if roll < upper { return route }
        }
        return routes.last { $0.weight > 0 }
    }
}

/// The plan in force, replaced as the document changes (by the long-poll, or by a report's
/// reply, whichever brings a higher revision first).
public final class RoutingTable: Sendable {
    private let plan = Mutex<RoutePlan?>(nil)

    public init() {}

    public var current: RoutePlan? { plan.withLock { $0 } }

    /// Takes `new` unless the table already holds its revision or a later one. Returns the plan
    /// it replaced (nil the first time) when it took it. `taking` is called with that plan just
    /// before the new one takes effect (so a log line saying so comes before any request routed
    /// by it).
    @discardableResult
    public func update(_ new: RoutePlan, taking: (RoutePlan?) -> Void = { _ in }) -> (taken: Bool, previous: RoutePlan?) {
        plan.withLock { plan in
            if let held = plan, held.revision >= new.revision { return (false, held) }
            let previous = plan
            taking(previous)
            plan = new
            return (true, previous)
        }
    }
}
