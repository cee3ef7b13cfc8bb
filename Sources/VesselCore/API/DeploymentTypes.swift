import Foundation

/// Deployments (issue 23, docs/deployments.md): a model in an environment, served by two pools
/// of capacity, blue and green. `live` names the pool that takes the stable traffic; during a
/// rollout the other pool holds the candidate at `candidate_weight` percent.

/// One of the two pools.
public enum DeploymentSlot: String, Codable, Sendable, CaseIterable {
    case blue, green

    /// The pool that is not this one.
    public var other: DeploymentSlot { self == .blue ? .green : .blue }

    public init(parsing text: String) throws(VesselError) {
        guard let slot = DeploymentSlot(rawValue: text) else { throw .invalidArgument("slot '\(text)' must be blue or green") }
        self = slot
    }
}

/// `serving` (no rollout yet), `rolling_out`, or how the last rollout ended: `completed`,
/// `rolled_back`.
public enum DeploymentStatus: String, Codable, Sendable, CaseIterable {
    case serving
    case rollingOut = "rolling_out"
    case completed
    case rolledBack = "rolled_back"
}

/// The version a pool holds.
public struct SlotVersion: Codable, Sendable, Equatable {
    public var version: Int
    public var digest: Digest

    public init(version: Int, digest: Digest) {
        self.version = version
        self.digest = digest
    }
}

/// `{"blue": {"version","digest"}|null, "green": …}`.
public struct DeploymentSlots: Codable, Sendable, Equatable {
    public var blue: SlotVersion?
    public var green: SlotVersion?

    public init(blue: SlotVersion?, green: SlotVersion?) {
        self.blue = blue
        self.green = green
    }

    public subscript(slot: DeploymentSlot) -> SlotVersion? {
        get { slot == .blue ? blue : green }
        set { if slot == .blue { blue = newValue } else { green = newValue } }
    }
}

/// One line of the routing document: how much of the traffic a pool takes.
public struct DeploymentRoute: Codable, Sendable, Equatable {
    public var slot: DeploymentSlot
    public var version: Int
    public var digest: Digest
    /// Percent of the requests, 0–100; the routes of one deployment add up to 100.
    public var weight: Int

    public init(slot: DeploymentSlot, version: Int, digest: Digest, weight: Int) {
        self.slot = slot
        self.version = version
        self.digest = digest
        self.weight = weight
    }

    /// The live pool at 100 − `candidateWeight`, then the other pool (when it holds a version)
    /// at `candidateWeight`, which is 0 unless a rollout is in progress.
    public static func of(live: DeploymentSlot, slots: DeploymentSlots, candidateWeight: Int) -> [DeploymentRoute] {
        var routes: [DeploymentRoute] = []
        if let held = slots[live] { routes.append(DeploymentRoute(slot: live, version: held.version, digest: held.digest, weight: 100 - candidateWeight)) }
        if let held = slots[live.other] { routes.append(DeploymentRoute(slot: live.other, version: held.version, digest: held.digest, weight: candidateWeight)) }
        return routes
    }
}

/// How a rollout proceeds and when it rolls itself back; kept with the deployment (and with a
/// pending request, until it is approved).
public struct DeploymentPlan: Codable, Sendable, Equatable {
    public static let defaultSteps = [1, 10, 50, 100]
    public static let defaultMinRequests = 100
    /// Most `--smoke` checks one rollout may name.
    public static let maxSmokeChecks = 64

    /// The candidate's weight after each advance: strictly increasing, 1...100, ending at 100.
    public var steps: [Int]
    /// Checks that must have passed against the candidate before its first non-zero step.
    public var smoke: [String]
    /// Roll back when errors ÷ requests since the step began exceeds this fraction.
    public var maxErrorRate: Double?
    /// Roll back when the highest p99 reported since the step began exceeds this.
    public var maxP99Ms: Double?
    /// Neither rule applies before this many requests were reported since the step began.
    public var minRequests: Int

    public init(steps: [Int] = DeploymentPlan.defaultSteps, smoke: [String] = [], maxErrorRate: Double? = nil, maxP99Ms: Double? = nil,
                minRequests: Int = DeploymentPlan.defaultMinRequests) {
        self.steps = steps
        self.smoke = smoke
        self.maxErrorRate = maxErrorRate
        self.maxP99Ms = maxP99Ms
        self.minRequests = minRequests
    }

    enum CodingKeys: String, CodingKey {
        case steps, smoke
        case maxErrorRate = "max_error_rate"
        case maxP99Ms = "max_p99_ms"
        case minRequests = "min_requests"
    }

    /// - Throws: `invalid_argument` naming the first thing wrong.
    public func validate() throws(VesselError) {
        try Self.validate(steps: steps)
        guard smoke.count <= Self.maxSmokeChecks else { throw .invalidArgument("smoke names \(smoke.count) checks; the limit is \(Self.maxSmokeChecks)") }
        for name in smoke {
            try Limits.check(name, field: "a smoke check name", max: Limits.checkName)
            // A check name, optionally with the principals that may satisfy it: what `check:` gates take.
            guard case .check = try Gate("check:" + name) else { throw .invalidArgument("smoke check '\(name)' must be NAME or NAME@PRINCIPAL|PRINCIPAL") }
        }
        if let rate = maxErrorRate, !(rate.isFinite && rate >= 0 && rate <= 1) {
            throw .invalidArgument("max_error_rate must be a fraction from 0 to 1 (0.02 is 2%)")
        }
        if let p99 = maxP99Ms, !(p99.isFinite && p99 > 0) {
            throw .invalidArgument("max_p99_ms must be a positive number of milliseconds")
        }
        guard minRequests >= 1 else { throw .invalidArgument("min_requests must be at least 1") }
    }

    /// - Throws: `invalid_argument` unless `steps` are strictly increasing integers in 1...100 ending at 100.
    public static func validate(steps: [Int]) throws(VesselError) {
        let message = "steps must be strictly increasing integers from 1 to 100 ending at 100, such as 1,10,50,100"
        guard let last = steps.last, last == 100, steps.count <= 100 else { throw .invalidArgument(message) }
        for (index, weight) in steps.enumerated() {
            guard weight >= 1, weight <= 100, index == 0 || steps[index - 1] < weight else { throw .invalidArgument(message) }
        }
    }

    /// `1,10,50,100` → `[1, 10, 50, 100]`, validated.
    public static func parseSteps(_ text: String) throws(VesselError) -> [Int] {
        var steps: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let weight = Int(part.trimmingCharacters(in: .whitespaces)) else {
                throw .invalidArgument("steps '\(text)' must be comma-separated integers such as 1,10,50,100")
            }
            steps.append(weight)
        }
        try validate(steps: steps)
        return steps
    }
}

/// A deployment: `{"model","env","revision","status","live","slots","candidate_weight","steps",
/// "step","routes", …}`. `routes` is the routing document (`DeploymentRoute.of`).
public struct DeploymentInfo: Codable, Sendable, Equatable {
    public var model: ModelName
    public var env: String
    /// Grows by one with every change (never with a report).
    public var revision: Int
    public var status: DeploymentStatus
    public var live: DeploymentSlot
    public var slots: DeploymentSlots
    /// The candidate's percent of the traffic: 0 unless `status` is `rolling_out`.
    public var candidateWeight: Int
    public var steps: [Int]
    /// Advances made in the current rollout (0 when it starts).
    public var step: Int
    public var smoke: [String]
    public var maxErrorRate: Double?
    public var maxP99Ms: Double?
    public var minRequests: Int
    public var routes: [DeploymentRoute]
    public var updatedAt: String
    public var updatedBy: String

    public init(model: ModelName, env: String, revision: Int, status: DeploymentStatus, live: DeploymentSlot, slots: DeploymentSlots,
                candidateWeight: Int, step: Int, plan: DeploymentPlan, updatedAt: String, updatedBy: String) {
        self.model = model
        self.env = env
        self.revision = revision
        self.status = status
        self.live = live
        self.slots = slots
        self.candidateWeight = candidateWeight
        self.steps = plan.steps
        self.step = step
        self.smoke = plan.smoke
        self.maxErrorRate = plan.maxErrorRate
        self.maxP99Ms = plan.maxP99Ms
        self.minRequests = plan.minRequests
        self.routes = DeploymentRoute.of(live: live, slots: slots, candidateWeight: candidateWeight)
        self.updatedAt = updatedAt
        self.updatedBy = updatedBy
    }

    /// The pool holding the candidate while a rollout is in progress.
    public var candidate: DeploymentSlot? { status == .rollingOut ? live.other : nil }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, env, revision, status, live, slots, steps, step, smoke, routes
        case candidateWeight = "candidate_weight"
        case maxErrorRate = "max_error_rate"
        case maxP99Ms = "max_p99_ms"
        case minRequests = "min_requests"
        case updatedAt = "updated_at"
        case updatedBy = "updated_by"
    }
}

/// What a deploy command did: the deployment's fields (all `null` but `model` and `env` when
/// the environment holds no deployment yet), plus `outcome` (`applied`, `pending` with its
/// `request_id`, or `refused` with every rule that refused in `failures`).
public struct DeploymentResult: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable {
        case applied, pending, refused
    }

    public var model: ModelName
    public var env: String
    /// The deployment after the command (before it, when nothing changed).
    public var deployment: DeploymentInfo?
    public var outcome: Outcome
    public var requestID: String?
    public var failures: [RuleFailure]

    public init(model: ModelName, env: String, deployment: DeploymentInfo?, outcome: Outcome, requestID: String? = nil, failures: [RuleFailure] = []) {
        self.model = model
        self.env = env
        self.deployment = deployment
        self.outcome = outcome
        self.requestID = requestID
        self.failures = failures
    }

    enum CodingKeys: String, CodingKey {
        case model, env, outcome, failures
        case requestID = "request_id"
    }

    public func encode(to encoder: any Encoder) throws {
        if let deployment {
            try deployment.encode(to: encoder)
        } else {
            var absent = encoder.container(keyedBy: DeploymentInfo.CodingKeys.self)
            for key in DeploymentInfo.CodingKeys.allCases where key != .model && key != .env { try absent.encodeNil(forKey: key) }
        }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encode(env, forKey: .env)
        try container.encode(outcome, forKey: .outcome)
        try container.encodeIfPresent(requestID, forKey: .requestID)
        try container.encode(failures, forKey: .failures)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decode(ModelName.self, forKey: .model)
        env = try container.decode(String.self, forKey: .env)
        outcome = try container.decode(Outcome.self, forKey: .outcome)
        requestID = try container.decodeIfPresent(String.self, forKey: .requestID)
        failures = try container.decode([RuleFailure].self, forKey: .failures)
        let fields = try decoder.container(keyedBy: DeploymentInfo.CodingKeys.self)
        let absent = try !fields.contains(.revision) || fields.decodeNil(forKey: .revision)
        deployment = absent ? nil : try DeploymentInfo(from: decoder)
    }
}

/// What became of one report.
public struct DeploymentReportOutcome: Codable, Sendable, Equatable {
    public var slot: DeploymentSlot
    /// The report named a digest the pool no longer holds (or the pool is empty): ignored.
    public var stale: Bool
    /// Whether it counted towards the rollback rules: a report on the candidate during a rollout.
    public var counted: Bool
    /// The candidate's totals since its current step began (null when not counted).
    public var requests: Int?
    public var errors: Int?
    /// The highest p99 reported since the step began.
    public var p99Ms: Double?
    /// This report crossed a threshold and the registry rolled the candidate back.
    public var rolledBack: Bool
    /// The rule and the figures, when it rolled back.
    public var reason: String?

    public init(slot: DeploymentSlot, stale: Bool, counted: Bool, requests: Int?, errors: Int?, p99Ms: Double?, rolledBack: Bool, reason: String?) {
        self.slot = slot
        self.stale = stale
        self.counted = counted
        self.requests = requests
        self.errors = errors
        self.p99Ms = p99Ms
        self.rolledBack = rolledBack
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case slot, stale, counted, requests, errors, reason
        case p99Ms = "p99_ms"
        case rolledBack = "rolled_back"
    }
}

/// The answer to a report: the deployment and outcome as for every deploy command, plus `report`.
public struct DeploymentReportResult: Codable, Sendable, Equatable {
    public var result: DeploymentResult
    public var report: DeploymentReportOutcome

    public init(result: DeploymentResult, report: DeploymentReportOutcome) {
        self.result = result
        self.report = report
    }

    enum CodingKeys: String, CodingKey { case report }

    public func encode(to encoder: any Encoder) throws {
        try result.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(report, forKey: .report)
    }

    public init(from decoder: any Decoder) throws {
        result = try DeploymentResult(from: decoder)
        report = try decoder.container(keyedBy: CodingKeys.self).decode(DeploymentReportOutcome.self, forKey: .report)
    }
}

/// One change of a deployment, from its history table: what the deployment looked like from
/// `at` until `until` (null while it still does).
public struct DeploymentHistoryEntry: Codable, Sendable, Equatable {
    public var model: ModelName
    public var env: String
    public var revision: Int
    /// `deployed` (into an empty environment), `started`, `advanced`, `completed`, `rolled_back`.
    public var action: String
    public var at: String
    public var until: String?
    public var actor: String
    public var reason: String?
    /// A rollback the registry made on its own, from reports.
    public var automatic: Bool
    public var status: DeploymentStatus
    public var live: DeploymentSlot
    public var slots: DeploymentSlots
    public var candidateWeight: Int
    public var step: Int
    public var routes: [DeploymentRoute]

    public init(model: ModelName, env: String, revision: Int, action: String, at: String, until: String?, actor: String, reason: String?, automatic: Bool,
                status: DeploymentStatus, live: DeploymentSlot, slots: DeploymentSlots, candidateWeight: Int, step: Int) {
        self.model = model
        self.env = env
        self.revision = revision
        self.action = action
        self.at = at
        self.until = until
        self.actor = actor
        self.reason = reason
        self.automatic = automatic
        self.status = status
        self.live = live
        self.slots = slots
        self.candidateWeight = candidateWeight
        self.step = step
        self.routes = DeploymentRoute.of(live: live, slots: slots, candidateWeight: candidateWeight)
    }

    enum CodingKeys: String, CodingKey {
        case model, env, revision, action, at, until, actor, reason, automatic, status, live, slots, step, routes
        case candidateWeight = "candidate_weight"
    }
}

/// A stretch of time during which a version took traffic in an environment (weight above 0,
/// in either pool): what "which versions served in `prod-eu`, from when to when" answers.
public struct ServingInterval: Codable, Sendable, Equatable {
    public var version: Int
    public var digest: Digest
    public var from: String
    /// Null while it still serves.
    public var until: String?

    public init(version: Int, digest: Digest, from: String, until: String?) {
        self.version = version
        self.digest = digest
        self.from = from
        self.until = until
    }
}

/// `POST …/deployments/:env`.
public struct DeployRequest: Codable, Sendable {
    public var version: Int
    public var steps: [Int]?
    public var smoke: [String]?
    public var maxErrorRate: Double?
    public var maxP99Ms: Double?
    public var minRequests: Int?
    /// Replace a candidate whose rollout is in progress.
    public var replace: Bool?
    /// Apply only at this revision (0: only while the environment holds no deployment).
    public var expectRevision: Int?
    public var reason: String?
    /// Deploy even when the version is incompatible with the environment its nodes report
    /// (audited `deployment.force_incompatible` with every failing requirement).
    public var forceIncompatible: Bool?

    public init(version: Int, steps: [Int]? = nil, smoke: [String]? = nil, maxErrorRate: Double? = nil, maxP99Ms: Double? = nil, minRequests: Int? = nil,
                replace: Bool? = nil, expectRevision: Int? = nil, reason: String? = nil, forceIncompatible: Bool? = nil) {
        self.forceIncompatible = forceIncompatible
        self.version = version
        self.steps = steps
        self.smoke = smoke
        self.maxErrorRate = maxErrorRate
        self.maxP99Ms = maxP99Ms
        self.minRequests = minRequests
        self.replace = replace
        self.expectRevision = expectRevision
        self.reason = reason
    }

    /// The plan, defaults filled in (not yet validated).
    public var plan: DeploymentPlan {
        DeploymentPlan(steps: steps ?? DeploymentPlan.defaultSteps, smoke: smoke ?? [], maxErrorRate: maxErrorRate, maxP99Ms: maxP99Ms,
                       minRequests: minRequests ?? DeploymentPlan.defaultMinRequests)
    }

    enum CodingKeys: String, CodingKey {
        case version, steps, smoke, replace, reason
        case maxErrorRate = "max_error_rate"
        case maxP99Ms = "max_p99_ms"
        case minRequests = "min_requests"
        case expectRevision = "expect_revision"
        case forceIncompatible = "force_incompatible"
    }
}

/// `POST …/deployments/:env/advance` and `…/rollback`.
public struct DeploymentChangeRequest: Codable, Sendable {
    public var expectRevision: Int?
    public var reason: String?

    public init(expectRevision: Int? = nil, reason: String? = nil) {
        self.expectRevision = expectRevision
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case reason
        case expectRevision = "expect_revision"
    }
}

/// `POST …/deployments/:env/reports`: what serving observed on one pool since the reporter's
/// last report.
public struct DeploymentReportRequest: Codable, Sendable {
    /// `blue` or `green`.
    public var slot: String
    /// The digest the reporter served; a report naming another digest than the pool holds is
    /// ignored as stale. Without it the report counts for whatever the pool holds.
    public var digest: Digest?
    public var requests: Int
    public var errors: Int
    public var p99Ms: Double?

    public init(slot: String, digest: Digest? = nil, requests: Int, errors: Int, p99Ms: Double? = nil) {
        self.slot = slot
        self.digest = digest
        self.requests = requests
        self.errors = errors
        self.p99Ms = p99Ms
    }

    /// - Throws: `invalid_argument`.
    public func validate() throws(VesselError) {
        _ = try DeploymentSlot(parsing: slot)
        guard requests >= 0, errors >= 0 else { throw .invalidArgument("requests and errors must not be negative") }
        guard errors <= requests else { throw .invalidArgument("errors (\(errors)) cannot exceed requests (\(requests))") }
        if let p99 = p99Ms, !(p99.isFinite && p99 >= 0) { throw .invalidArgument("p99_ms must be a non-negative number of milliseconds") }
    }

    enum CodingKeys: String, CodingKey {
        case slot, digest, requests, errors
        case p99Ms = "p99_ms"
    }
}

extension DeployRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(reason, field: "reason", max: Limits.reason)
        try Limits.check(smoke, field: "smoke", each: Limits.checkName, count: DeploymentPlan.maxSmokeChecks, element: "a smoke check name")
    }
}

extension DeploymentChangeRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(reason, field: "reason", max: Limits.reason)
    }
}
