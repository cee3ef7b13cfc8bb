import Foundation
import SQLKit
import VesselCore

/// Deployments: each change takes the model's lock (`lockModel`, as alias moves do), checks
/// the revision and the rules, and writes the deployment row, a history row, its audit entry
/// and its event in one transaction.
extension SQLMetadataStore: DeploymentStore {
    /// A deployment as stored, with the versions its pools hold.
    struct DeploymentRow: Sendable {
        var modelID: String
        var model: ModelName
        var env: String
        var revision: Int
        var status: DeploymentStatus
        var live: DeploymentSlot
        /// The version ids the pools hold.
        var blueID: String?
        var greenID: String?
        var slots: DeploymentSlots
        var candidateWeight: Int
        var step: Int
        var plan: DeploymentPlan
        /// The candidate's report totals since its current step began.
        var windowRequests: Int
        var windowErrors: Int
        var windowP99Micros: Int64?
        var updatedAt: Int64
        var updatedBy: String

        func versionID(_ slot: DeploymentSlot) -> String? { slot == .blue ? blueID : greenID }

        /// The pool holding the candidate while a rollout is in progress.
        var candidate: DeploymentSlot? { status == .rollingOut ? live.other : nil }

        mutating func hold(_ slot: DeploymentSlot, _ target: Target, version: Int) throws {
            if slot == .blue { blueID = target.versionID } else { greenID = target.versionID }
            slots[slot] = SlotVersion(version: version, digest: try Digest(target.digest))
        }

        mutating func resetWindow() {
            windowRequests = 0
            windowErrors = 0
            windowP99Micros = nil
        }

        var info: DeploymentInfo {
            DeploymentInfo(model: model, env: env, revision: revision, status: status, live: live, slots: slots, candidateWeight: candidateWeight,
                           step: step, plan: plan, updatedAt: Timestamp.rfc3339(micros: updatedAt), updatedBy: updatedBy)
        }

        /// The audit entry's before/after text.
        var summary: String {
            func held(_ slot: DeploymentSlot) -> String { slots[slot].map { String($0.version) } ?? "-" }
            return "revision \(revision) \(status.rawValue): live \(live.rawValue), blue \(held(.blue)), green \(held(.green)), candidate weight \(candidateWeight), step \(step)"
        }
    }

    /// What a change did: the history row's `action`, and its audit action and event.
    enum DeploymentAction: String {
        case deployed, started, advanced, completed
        case rolledBack = "rolled_back"

        var auditAction: String {
            switch self {
            case .deployed: "deployment.deploy"
            case .started: "deployment.start"
            case .advanced: "deployment.advance"
            case .completed: "deployment.complete"
            case .rolledBack: "deployment.rollback"
            }
        }

        var event: Outbox.EventType {
            switch self {
            case .deployed, .completed: .deploymentCompleted
            case .started: .deploymentStarted
            case .advanced: .deploymentAdvanced
            case .rolledBack: .deploymentRolledBack
            }
        }
    }

    /// A deploy's parameters, kept by the promotion request it made until it is decided.
    struct PendingDeploy: Codable {
        var plan: DeploymentPlan
        var replace: Bool
        var expectRevision: Int?
    }

    static let deploymentQuery = """
        SELECT d.model_id, m.owner, m.name, d.env, d.revision, d.status, d.live, d.candidate_weight, d.step, d.plan,
          d.window_requests, d.window_errors, d.window_p99_us, d.updated_at, d.updated_by,
          d.blue_version_id, b.number AS blue_number, b.digest AS blue_digest,
          d.green_version_id, g.number AS green_number, g.digest AS green_digest
        FROM deployments d JOIN models m ON m.id = d.model_id
          LEFT JOIN versions b ON b.id = d.blue_version_id LEFT JOIN versions g ON g.id = d.green_version_id
        """

    static func deploymentRow(_ row: any SQLRow) throws -> DeploymentRow {
        func held(_ prefix: String) throws -> SlotVersion? {
            guard let number = try row.decode(column: "\(prefix)_number", as: Int?.self),
                  let digest = try row.decode(column: "\(prefix)_digest", as: String?.self) else { return nil }
            return SlotVersion(version: number, digest: try Digest(digest))
        }
        let status = try row.decode(column: "status", as: String.self)
        let live = try row.decode(column: "live", as: String.self)
        guard let status = DeploymentStatus(rawValue: status), let live = DeploymentSlot(rawValue: live) else {
            throw VesselError.internalError("a deployment row holds status '\(status)' and live '\(live)'")
        }
        return DeploymentRow(
            modelID: try row.decode(column: "model_id", as: String.self),
            model: try ModelName(owner: try row.decode(column: "owner", as: String.self), name: try row.decode(column: "name", as: String.self)),
            env: try row.decode(column: "env", as: String.self),
            revision: try row.decode(column: "revision", as: Int.self),
            status: status,
            live: live,
            blueID: try row.decode(column: "blue_version_id", as: String?.self),
            greenID: try row.decode(column: "green_version_id", as: String?.self),
            slots: DeploymentSlots(blue: try held("blue"), green: try held("green")),
            candidateWeight: try row.decode(column: "candidate_weight", as: Int.self),
            step: try row.decode(column: "step", as: Int.self),
            plan: try decodeJSON(DeploymentPlan.self, try row.decode(column: "plan", as: String.self)),
            windowRequests: try row.decode(column: "window_requests", as: Int.self),
            windowErrors: try row.decode(column: "window_errors", as: Int.self),
            windowP99Micros: try row.decode(column: "window_p99_us", as: Int64?.self),
            updatedAt: try row.decode(column: "updated_at", as: Int64.self),
            updatedBy: try row.decode(column: "updated_by", as: String.self)
        )
    }

    func deploymentRow(_ db: any SQLDatabase, modelID: String, env: String) async throws -> DeploymentRow? {
        try await db.raw("\(unsafeRaw: Self.deploymentQuery) WHERE d.model_id = \(bind: modelID) AND d.env = \(bind: env)").first().map(Self.deploymentRow)
    }

    static func noDeployment(_ model: ModelName, _ env: String) -> VesselError {
        .notFound("model '\(model)' has no deployment in '\(env)'")
    }

    // MARK: Rules

    /// `precondition_failed` naming the current revision (0: no deployment) unless it is `expected`.
    static func checkRevision(_ expected: Int?, _ current: DeploymentRow?, model: ModelName, env: String) throws {
        guard let expected else { return }
        let actual = current?.revision ?? 0
        guard expected == actual else {
            throw VesselError(.preconditionFailed, "the deployment of \(model) in '\(env)' is at revision \(actual), not \(expected); read it again and retry",
                              details: ["current revision: \(actual)"])
        }
    }

    static func roleFailures(_ role: Role?, needed: Role, doing: String, model: ModelName) -> [RuleFailure] {
        guard let role, role >= needed else {
            return [RuleFailure(rule: "role", message: "\(doing) needs the \(needed.rawValue) role on \(model); you have \(role?.rawValue ?? "none")")]
        }
        return []
    }

    /// Deploying a version that is not ready answers what `vessel alias set` answers for it.
    static func requireReady(_ target: Target) throws {
        guard target.state == VersionState.ready.rawValue else {
            let failure = "version-state: the version is \(target.state); only ready versions can be aliased or deployed"
            throw VesselError(.refused, failure, details: [failure])
        }
    }

    /// The smoke checks that have not passed against the candidate, as `smoke:NAME` failures:
    /// judged as `check:NAME` gates are (the version's creator never satisfies its own).
    func smokeFailures(_ db: any SQLDatabase, target: Target, smoke: [String]) async throws -> [RuleFailure] {
        guard !smoke.isEmpty else { return [] }
        return try await gateFailures(db, target: target, gates: smoke.map { "check:" + $0 })
            .filter { $0.rule != "version-state" }
            .map { failure in
                let name = failure.rule.hasPrefix("check:") ? String(failure.rule.dropFirst(6)) : failure.rule
                return RuleFailure(rule: "smoke:" + name, message: "smoke check '\(name)' has not passed against the candidate: " + failure.message)
            }
    }

    // MARK: Deploy

    public func deploy(_ attempt: DeployAttempt, change: ChangeContext) async throws -> DeploymentResult {
        try attempt.plan.validate()
        guard attempt.version > 0 else { throw VesselError.invalidArgument("version must be a positive integer") }
        if let expected = attempt.expectRevision, expected < 0 { throw VesselError.invalidArgument("expect_revision must not be negative") }
        let now = clock()
        let env = attempt.env.value
        let result = try await write { db -> DeploymentResult in
            let modelID = try await self.lockModel(db, attempt.model)
            let current = try await self.deploymentRow(db, modelID: modelID, env: env)
            try Self.checkRevision(attempt.expectRevision, current, model: attempt.model, env: env)
            try Self.requireNoRollout(current, replace: attempt.replace, env: env)
            let target = try await self.target(db, modelID: modelID, model: attempt.model, version: attempt.version, current: nil)
            try Self.requireReady(target)
            let protection = try await self.protection(db, model: attempt.model, alias: attempt.env)
            let approval = protection?.requireApproval == true
            // As for `promote`: with approval required anyone who may write asks; the approver needs the role.
            var failures = Self.roleFailures(attempt.role, needed: approval ? .contributor : protection?.role ?? .contributor, doing: "deploying to '\(env)'", model: attempt.model)
            failures += try await self.gateFailures(db, target: target, gates: protection?.gates ?? [])
            if !failures.isEmpty {
                return DeploymentResult(model: attempt.model, env: env, deployment: current?.info, outcome: .refused, failures: failures)
            }
            if !attempt.forcedIncompatible.isEmpty {
                try await self.audit(db, change, at: now, action: "deployment.force_incompatible", target: "deployment/\(attempt.model)@\(env)", model: attempt.model,
                                     before: current?.summary,
                                     after: "version \(attempt.version) forced past an incompatible environment (--force-incompatible): " + attempt.forcedIncompatible.joined(separator: "; "))
            }
            if approval {
                let id = try await self.requestDeploy(db, attempt, modelID: modelID, target: target, current: current, change: change, now: now)
                return DeploymentResult(model: attempt.model, env: env, deployment: current?.info, outcome: .pending, requestID: id)
            }
            let after = try await self.applyDeploy(db, current: current, modelID: modelID, model: attempt.model, env: env, target: target,
                                                   version: attempt.version, plan: attempt.plan, change: change, now: now)
            return DeploymentResult(model: attempt.model, env: env, deployment: after.info, outcome: .applied)
        }
        if result.outcome == .refused { try await recordDeploymentRefusal(result, verb: "deploy \(attempt.version)", change: change) }
        return result
    }

    static func requireNoRollout(_ current: DeploymentRow?, replace: Bool, env: String) throws {
        guard let current, current.status == .rollingOut, !replace else { return }
        let candidate = current.slots[current.live.other].map { "version \($0.version)" } ?? "a version"
        throw VesselError.conflict("a rollout of \(candidate) is in progress in '\(env)' (revision \(current.revision)); advance or roll it back, or deploy with --replace")
    }

    /// A promotion request holding the deploy's parameters; asking again for the same deploy
    /// (a retry) answers with the request already open.
    func requestDeploy(_ db: any SQLDatabase, _ attempt: DeployAttempt, modelID: String, target: Target, current: DeploymentRow?, change: ChangeContext, now: Int64) async throws -> String {
        let parameters = try Self.encodeJSON(PendingDeploy(plan: attempt.plan, replace: attempt.replace, expectRevision: attempt.expectRevision))
        if let open = try await db.raw("""
            SELECT id FROM promotion_requests
            WHERE model_id = \(bind: modelID) AND alias = \(bind: attempt.env.value) AND version_id = \(bind: target.versionID) AND status = 'pending'
              AND deployment = \(bind: parameters)
            ORDER BY created_at, id LIMIT 1
            """).first() {
            return try open.decode(column: "id", as: String.self)
        }
        let id = "req_" + makeID().replacingOccurrences(of: "-", with: "").prefix(16)
        try await db.raw("""
            INSERT INTO promotion_requests (id, model_id, alias, version_id, status, requested_by, reason, expect_current, expect_absent, created_at, deployment)
            VALUES (\(bind: String(id)), \(bind: modelID), \(bind: attempt.env.value), \(bind: target.versionID), 'pending', \(bind: change.actor),
              \(bind: change.reason), NULL, 0, \(bind: now), \(bind: parameters))
            """).run()
        try await audit(db, change, at: now, action: "promotion.request", target: "deployment/\(attempt.model)@\(attempt.env)", model: attempt.model,
                        before: current?.summary, after: "deploy version \(attempt.version) \(parameters)")
        try await event(db, .promotionRequested, at: now, model: attempt.model, [
            "model": attempt.model.description, "alias": attempt.env.value, "env": attempt.env.value, "kind": "deployment",
            "version": String(attempt.version), "digest": target.digest, "request_id": String(id), "actor": change.actor,
        ])
        return String(id)
    }

    /// Puts `target` into blue of an empty environment (live, `serving`), or into the pool that
    /// is not live at weight 0 (`rolling_out`).
    func applyDeploy(_ db: any SQLDatabase, current: DeploymentRow?, modelID: String, model: ModelName, env: String, target: Target, version: Int,
                     plan: DeploymentPlan, change: ChangeContext, now: Int64) async throws -> DeploymentRow {
        guard var after = current else {
            var first = DeploymentRow(modelID: modelID, model: model, env: env, revision: 1, status: .serving, live: .blue, blueID: nil, greenID: nil,
                                      slots: DeploymentSlots(blue: nil, green: nil), candidateWeight: 0, step: 0, plan: plan,
                                      windowRequests: 0, windowErrors: 0, windowP99Micros: nil, updatedAt: now, updatedBy: change.actor)
            try first.hold(.blue, target, version: version)
            try await recordDeploymentChange(db, before: nil, after: first, action: .deployed, change: change, now: now)
            return first
        }
        after.revision += 1
        try after.hold(after.live.other, target, version: version)
        after.status = .rollingOut
        after.candidateWeight = 0
        after.step = 0
        after.plan = plan
        after.resetWindow()
        after.updatedAt = now
        after.updatedBy = change.actor
        try await recordDeploymentChange(db, before: current, after: after, action: .started, change: change, now: now)
        return after
    }

    // MARK: Advance and roll back

    public func advanceDeployment(_ attempt: DeploymentAttempt, change: ChangeContext) async throws -> DeploymentResult {
        let now = clock()
        let env = attempt.env.value
        let result = try await write { db -> DeploymentResult in
            let modelID = try await self.lockModel(db, attempt.model)
            guard let current = try await self.deploymentRow(db, modelID: modelID, env: env) else { throw Self.noDeployment(attempt.model, env) }
            try Self.checkRevision(attempt.expectRevision, current, model: attempt.model, env: env)
            guard current.status == .rollingOut, let candidate = current.slots[current.live.other] else {
                throw VesselError.conflict("nothing to advance: no rollout is in progress in '\(env)' (status \(current.status.rawValue))")
            }
            let protection = try await self.protection(db, model: attempt.model, alias: attempt.env)
            var failures = Self.roleFailures(attempt.role, needed: protection?.role ?? .contributor, doing: "advancing in '\(env)'", model: attempt.model)
            let target = try await self.target(db, modelID: modelID, model: attempt.model, version: candidate.version, current: nil)
            failures += try await self.gateFailures(db, target: target, gates: protection?.gates ?? [])
            if current.step == 0 { failures += try await self.smokeFailures(db, target: target, smoke: current.plan.smoke) }
            if !failures.isEmpty {
                return DeploymentResult(model: attempt.model, env: env, deployment: current.info, outcome: .refused, failures: failures)
            }
            var after = current
            after.revision += 1
            after.updatedAt = now
            after.updatedBy = change.actor
            after.resetWindow()
            let weight = current.plan.steps[min(current.step, current.plan.steps.count - 1)]
            after.step = current.step + 1
            let action: DeploymentAction
            if weight >= 100 {
                after.live = current.live.other
                after.candidateWeight = 0
                after.status = .completed
                action = .completed
            } else {
                after.candidateWeight = weight
                action = .advanced
            }
            try await self.recordDeploymentChange(db, before: current, after: after, action: action, change: change, now: now)
            return DeploymentResult(model: attempt.model, env: env, deployment: after.info, outcome: .applied)
        }
        if result.outcome == .refused { try await recordDeploymentRefusal(result, verb: "advance", change: change) }
        return result
    }

    public func rollbackDeployment(_ attempt: DeploymentAttempt, change: ChangeContext) async throws -> DeploymentResult {
        let now = clock()
        let env = attempt.env.value
        let result = try await write { db -> DeploymentResult in
            let modelID = try await self.lockModel(db, attempt.model)
            guard let current = try await self.deploymentRow(db, modelID: modelID, env: env) else { throw Self.noDeployment(attempt.model, env) }
            try Self.checkRevision(attempt.expectRevision, current, model: attempt.model, env: env)
            let after = try Self.rolledBack(current, now: now, actor: change.actor)
            let protection = try await self.protection(db, model: attempt.model, alias: attempt.env)
            // The role only: no gate and no approval ever blocks a rollback.
            let failures = Self.roleFailures(attempt.role, needed: protection?.role ?? .contributor, doing: "rolling back in '\(env)'", model: attempt.model)
            if !failures.isEmpty {
                return DeploymentResult(model: attempt.model, env: env, deployment: current.info, outcome: .refused, failures: failures)
            }
            try await self.recordDeploymentChange(db, before: current, after: after, action: .rolledBack, change: change, now: now)
            return DeploymentResult(model: attempt.model, env: env, deployment: after.info, outcome: .applied)
        }
        if result.outcome == .refused { try await recordDeploymentRefusal(result, verb: "rollback", change: change) }
        return result
    }

    /// During a rollout the candidate's weight drops to 0; after a completed one the live
    /// pointer flips back to the pool holding the previous version. - Throws: `conflict`.
    static func rolledBack(_ current: DeploymentRow, now: Int64, actor: String) throws -> DeploymentRow {
        var after = current
        switch current.status {
        case .rollingOut:
            after.candidateWeight = 0
        case .completed where current.slots[current.live.other] != nil:
            after.live = current.live.other
            after.candidateWeight = 0
        default:
            throw VesselError.conflict("nothing to roll back in '\(current.env)': the deployment is \(current.status.rawValue)"
                                       + (current.status == .completed ? " and the other pool holds no version" : ""))
        }
        after.status = .rolledBack
        after.revision += 1
        after.resetWindow()
        after.updatedAt = now
        after.updatedBy = actor
        return after
    }

    // MARK: Writing a change

    /// Writes `after` (its revision one above `before`'s), closes the previous history row and
    /// opens one for `after`, appends the audit entry and the event, and announces the change to
    /// the long-polls (`announceDeploymentChange`: `NOTIFY`, delivered on commit).
    func recordDeploymentChange(_ db: any SQLDatabase, before: DeploymentRow?, after: DeploymentRow, action: DeploymentAction, change: ChangeContext,
                                now: Int64, automatic: Bool = false) async throws {
        let planJSON = try Self.encodeJSON(after.plan)
        if let before {
            try await db.raw("""
                UPDATE deployments SET revision = \(bind: after.revision), status = \(bind: after.status.rawValue), live = \(bind: after.live.rawValue),
                  blue_version_id = \(bind: after.blueID), green_version_id = \(bind: after.greenID), candidate_weight = \(bind: after.candidateWeight),
                  step = \(bind: after.step), plan = \(bind: planJSON), window_requests = \(bind: after.windowRequests), window_errors = \(bind: after.windowErrors),
                  window_p99_us = \(bind: after.windowP99Micros), updated_at = \(bind: now), updated_by = \(bind: change.actor)
                WHERE model_id = \(bind: after.modelID) AND env = \(bind: after.env) AND revision = \(bind: before.revision)
                """).run()
            try await db.raw("""
                UPDATE deployment_history SET ended_at = \(bind: now)
                WHERE model_id = \(bind: after.modelID) AND env = \(bind: after.env) AND revision = \(bind: before.revision)
                """).run()
        } else {
            try await db.raw("""
                INSERT INTO deployments (model_id, env, revision, status, live, blue_version_id, green_version_id, candidate_weight, step, plan,
                  window_requests, window_errors, window_p99_us, created_at, updated_at, updated_by)
                VALUES (\(bind: after.modelID), \(bind: after.env), \(bind: after.revision), \(bind: after.status.rawValue), \(bind: after.live.rawValue),
                  \(bind: after.blueID), \(bind: after.greenID), \(bind: after.candidateWeight), \(bind: after.step), \(bind: planJSON),
                  0, 0, NULL, \(bind: now), \(bind: now), \(bind: change.actor))
                """).run()
        }
        try await db.raw("""
            INSERT INTO deployment_history (model_id, env, revision, action, at, ended_at, actor, request_id, reason, automatic, status, live,
              blue_version_id, green_version_id, candidate_weight, step)
            VALUES (\(bind: after.modelID), \(bind: after.env), \(bind: after.revision), \(bind: action.rawValue), \(bind: now), NULL, \(bind: change.actor),
              \(bind: change.requestID), \(bind: change.reason), \(bind: automatic ? 1 : 0), \(bind: after.status.rawValue), \(bind: after.live.rawValue),
              \(bind: after.blueID), \(bind: after.greenID), \(bind: after.candidateWeight), \(bind: after.step))
            """).run()
        try await audit(db, change, at: now, action: action.auditAction, target: "deployment/\(after.model)@\(after.env)", model: after.model,
                        before: before?.summary, after: after.summary + (automatic ? " (automatic)" : ""))
        // The version the change is about: the new live one, or the candidate (or the one rolled back).
        let subject = action == .deployed || action == .completed ? after.live : after.live.other
        var payload = [
            "model": after.model.description, "env": after.env, "revision": String(after.revision), "status": after.status.rawValue,
            "live": after.live.rawValue, "slot": subject.rawValue, "candidate_weight": String(after.candidateWeight), "actor": change.actor,
        ]
        if let held = after.slots[subject] {
            payload["version"] = String(held.version)
            payload["digest"] = held.digest.description
        }
        if action == .completed, let previous = after.slots[after.live.other] { payload["previous_version"] = String(previous.version) }
        if action == .started, let before, before.status == .rollingOut, let replaced = before.slots[before.live.other] {
            payload["replaced_version"] = String(replaced.version)
        }
        if action == .rolledBack {
            payload["automatic"] = automatic ? "true" : "false"
            payload["reason"] = change.reason ?? ""
        } else if let reason = change.reason {
            payload["reason"] = reason
        }
        try await event(db, action.event, at: now, model: after.model, payload)
        // Wakes the long-polls of every replica once this transaction commits.
        try await announceDeploymentChange(db, model: after.model, env: after.env, revision: after.revision)
    }

    /// A refused deploy, advance or rollback changes nothing but is audited (`deployment.refuse`).
    func recordDeploymentRefusal(_ result: DeploymentResult, verb: String, change: ChangeContext) async throws {
        let now = clock()
        let rules = result.failures.map { "\($0.rule): \($0.message)" }.joined(separator: "; ")
        try await write { db in
            try await self.audit(db, change, at: now, action: "deployment.refuse", target: "deployment/\(result.model)@\(result.env)", model: result.model,
                                 after: "\(verb) refused: \(rules)")
        }
    }

    // MARK: Approval

    /// Decides a promotion request that `deploy` made: rejecting closes it; approving checks
    /// every rule again (role, self-approval, the revision it expected, a rollout in progress
    /// without `replace`, the gates) and starts the rollout with the request's parameters.
    func decideDeployment(_ db: any SQLDatabase, request: PromotionRequestInfo, modelID: String, parameters: String, approve: Bool, needed: Role,
                          failures: [RuleFailure], forcedIncompatible: [String], change: ChangeContext, now: Int64) async throws -> PromotionResult {
        var failures = failures
        let env = try AliasName(request.alias)
        let target = "deployment/\(request.model)@\(env)"
        let payload = ["model": request.model.description, "alias": env.value, "env": env.value, "kind": "deployment", "version": String(request.version),
                       "request_id": request.id, "actor": change.actor]
        func result(_ status: PromotionResult.Status, _ failures: [RuleFailure]) -> PromotionResult {
            PromotionResult(status: status, requestID: request.id, failures: failures, model: request.model, alias: env.value, version: request.version)
        }
        if !approve {
            if !failures.isEmpty && change.actor != request.requestedBy { return result(.refused, failures) }
            try await db.raw("""
                UPDATE promotion_requests SET status = 'rejected', decided_by = \(bind: change.actor), decided_at = \(bind: now), decision_reason = \(bind: change.reason)
                WHERE id = \(bind: request.id)
                """).run()
            try await audit(db, change, at: now, action: "promotion.reject", target: target, model: request.model, after: request.id)
            try await event(db, .promotionRejected, at: now, model: request.model, payload)
            return result(.refused, [RuleFailure(rule: "approval", message: "rejected by \(change.actor)")])
        }
        if change.actor == request.requestedBy {
            failures.append(RuleFailure(rule: "approval", message: "\(change.actor) requested this deployment and cannot approve it; another \(needed.rawValue) must"))
        }
        let pending = try Self.decodeJSON(PendingDeploy.self, parameters)
        let current = try await deploymentRow(db, modelID: modelID, env: env.value)
        if let expected = pending.expectRevision, expected != (current?.revision ?? 0) {
            failures.append(RuleFailure(rule: "expect-revision", message: "the deployment in '\(env)' is at revision \(current?.revision ?? 0), not \(expected) as the request expected"))
        }
        if let current, current.status == .rollingOut, !pending.replace {
            failures.append(RuleFailure(rule: "replace", message: "a rollout is in progress in '\(env)' and the request did not ask to replace it"))
        }
        let version = try await self.target(db, modelID: modelID, model: request.model, version: request.version, current: nil)
        let protection = try await self.protection(db, model: request.model, alias: env)
        failures += try await gateFailures(db, target: version, gates: protection?.gates ?? [])
        if !failures.isEmpty { return result(.refused, failures) }
        try await db.raw("""
            UPDATE promotion_requests SET status = 'approved', decided_by = \(bind: change.actor), decided_at = \(bind: now), decision_reason = \(bind: change.reason)
            WHERE id = \(bind: request.id)
            """).run()
        try await audit(db, change, at: now, action: "promotion.approve", target: target, model: request.model, after: request.id)
        if !forcedIncompatible.isEmpty {
            try await audit(db, change, at: now, action: "deployment.force_incompatible", target: target, model: request.model, before: current?.summary,
                            after: "version \(request.version) approved past an incompatible environment (--force-incompatible): " + forcedIncompatible.joined(separator: "; "))
        }
        try await event(db, .promotionApproved, at: now, model: request.model, payload)
        var start = change
        start.reason = change.reason ?? request.reason
        _ = try await applyDeploy(db, current: current, modelID: modelID, model: request.model, env: env.value, target: version, version: request.version,
                                  plan: pending.plan, change: start, now: now)
        return result(.applied, [])
    }

    /// A version either pool of any deployment holds cannot be deleted (archiving stays allowed).
    /// - Throws: `conflict` naming the environments.
    func requireNotDeployed(_ db: any SQLDatabase, versionID: String, model: ModelName, version: Int) async throws {
        let held = try await db.raw("""
            SELECT env, CASE WHEN blue_version_id = \(bind: versionID) THEN 'blue' ELSE 'green' END AS slot FROM deployments
            WHERE blue_version_id = \(bind: versionID) OR green_version_id = \(bind: versionID) ORDER BY env
            """).all().map { "\(try $0.decode(column: "env", as: String.self)) (\(try $0.decode(column: "slot", as: String.self)))" }
        guard held.isEmpty else {
            throw VesselError.conflict("version \(model):\(version) is held by the deployment pool(s) \(held.joined(separator: ", ")); deploy another version into them first")
        }
    }
}
