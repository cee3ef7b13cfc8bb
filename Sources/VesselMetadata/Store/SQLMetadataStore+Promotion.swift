import Foundation
import SQLKit
import VesselCore

/// Promotion: every rule of a protected alias checked inside the transaction that moves it.
extension SQLMetadataStore: GovernanceStore {
    /// The facts a promotion is judged on, read inside its transaction.
    struct Target {
        let modelID: String
        let versionID: String
        let state: String
        let digest: String
        /// What checks are keyed by: the digest ignores file names (decision 0013).
        let manifestDigest: String
        /// The principal who created the version: never a reporter that satisfies its gates
        /// unless a `check:NAME@…` gate names them.
        let createdBy: String
        let scan: [FileScanReport]?
        let current: Int?
    }

    public func promote(_ attempt: PromotionAttempt, change: ChangeContext) async throws -> PromotionResult {
        let now = clock()
        let result = try await write { db -> PromotionResult in
            let modelID = try await self.lockModel(db, attempt.model)
            let protection = try await self.protection(db, model: attempt.model, alias: attempt.alias)
            let current = try await self.currentVersion(db, modelID: modelID, alias: attempt.alias)
            var failures: [RuleFailure] = []
            let needed: Role
            if let protection, protection.requireApproval {
                if attempt.mode != .promote {
                    failures.append(RuleFailure(rule: "approval", message: "'\(attempt.alias)' needs an approved promotion; use `vessel promote`"))
                }
                needed = .contributor
            } else {
                needed = protection?.role ?? .contributor
            }
            if (attempt.role ?? .viewer) < needed || attempt.role == nil {
                failures.append(RuleFailure(rule: "role", message: "moving '\(attempt.alias)' needs the \(needed.rawValue) role on \(attempt.model); you have \(attempt.role?.rawValue ?? "none")"))
            }
            if attempt.mode == .remove {
                guard current != nil else { throw VesselError.notFound("alias '\(attempt.alias)' of model '\(attempt.model)' does not exist") }
                if !failures.isEmpty {
                    return PromotionResult(status: .refused, requestID: nil, failures: failures, model: attempt.model, alias: attempt.alias.value, version: current ?? 0)
                }
                try await self.removeAlias(db, modelID: modelID, model: attempt.model, alias: attempt.alias, current: current ?? 0, change: change, now: now)
                return PromotionResult(status: .applied, requestID: nil, failures: [], model: attempt.model, alias: attempt.alias.value, version: current ?? 0)
            }
            let target = try await self.target(db, modelID: modelID, model: attempt.model, version: attempt.version, current: current)
            // Already there: the move is applied, whoever made it. A retried move whose first
            // attempt went through lands here, `expectCurrent` naming where the alias was before
            // it; nothing is written and no gate is judged again.
            if failures.isEmpty && current == attempt.version {
                return PromotionResult(status: .applied, requestID: nil, failures: [], model: attempt.model, alias: attempt.alias.value, version: attempt.version)
            }
            failures += self.expectationFailures(attempt, current: current)
            failures += try await self.gateFailures(db, target: target, gates: protection?.gates ?? [])
            if !failures.isEmpty {
                return PromotionResult(status: .refused, requestID: nil, failures: failures, model: attempt.model, alias: attempt.alias.value, version: attempt.version)
            }
            if let protection, protection.requireApproval {
                // One open request per move: asking again (a retry) answers with the one open.
                if let open = try await db.raw("""
                    SELECT id FROM promotion_requests
                    WHERE model_id = \(bind: modelID) AND alias = \(bind: attempt.alias.value) AND version_id = \(bind: target.versionID) AND status = 'pending' AND deployment IS NULL
                    ORDER BY created_at, id LIMIT 1
                    """).first() {
                    return PromotionResult(status: .pending, requestID: try open.decode(column: "id", as: String.self), failures: [], model: attempt.model, alias: attempt.alias.value, version: attempt.version)
                }
                let id = "req_" + self.makeID().replacingOccurrences(of: "-", with: "").prefix(16)
                try await db.raw("""
                    INSERT INTO promotion_requests (id, model_id, alias, version_id, status, requested_by, reason, expect_current, expect_absent, created_at)
                    VALUES (\(bind: String(id)), \(bind: modelID), \(bind: attempt.alias.value), \(bind: target.versionID), 'pending', \(bind: change.actor),
                      \(bind: change.reason), \(bind: attempt.expectCurrent), \(bind: attempt.expectAbsent ? 1 : 0), \(bind: now))
                    """).run()
                try await self.audit(db, change, at: now, action: "promotion.request", target: "alias/\(attempt.model)@\(attempt.alias)", model: attempt.model, before: current.map(String.init), after: String(attempt.version))
                try await self.event(db, .promotionRequested, at: now, model: attempt.model, ["model": attempt.model.description, "alias": attempt.alias.value, "version": String(attempt.version), "digest": target.digest, "request_id": String(id), "actor": change.actor])
                return PromotionResult(status: .pending, requestID: String(id), failures: [], model: attempt.model, alias: attempt.alias.value, version: attempt.version)
            }
            try await self.applyMove(db, model: attempt.model, alias: attempt.alias, target: target, change: change, now: now)
            return PromotionResult(status: .applied, requestID: nil, failures: [], model: attempt.model, alias: attempt.alias.value, version: attempt.version)
        }
        if result.status == .refused { try await recordRefusal(result, change: change) }
        return result
    }

    public func decide(requestID: String, approve: Bool, role: @escaping @Sendable (ModelName) async throws -> Role?,
                       environment: @escaping @Sendable (PromotionRequestInfo) async throws -> [String], forceIncompatible: Bool,
                       change: ChangeContext) async throws -> PromotionResult {
        guard let request = try await promotionRequest(id: requestID) else {
            throw VesselError.notFound("promotion request '\(requestID)' does not exist")
        }
        guard request.status == "pending" else {
            throw VesselError.conflict("promotion request '\(requestID)' is already \(request.status)")
        }
        let callerRole = try await role(request.model)
        // A deploy is judged against the agents' environments when it is approved too: they may
        // have reported since it was requested (decision 0030).
        var forced: [String] = []
        if approve, request.kind == "deployment" {
            let failures = try await environment(request)
            if !failures.isEmpty {
                guard forceIncompatible else {
                    throw VesselError(.incompatible, "version \(request.version) of \(request.model) is incompatible with the environment its nodes in '\(request.alias)' report: "
                                      + failures.joined(separator: "; ") + " (approve with --force-incompatible to deploy anyway, audited)", details: failures)
                }
                forced = failures
            }
        }
        let alias = try AliasName(request.alias)
        let now = clock()
        let forcedIncompatible = forced
        let result = try await write { db -> PromotionResult in
            let modelID = try await self.lockModel(db, request.model)
            guard let row = try await db.raw("SELECT status, expect_current, expect_absent, deployment FROM promotion_requests WHERE id = \(bind: requestID)").first(),
                  try row.decode(column: "status", as: String.self) == "pending" else {
                throw VesselError.conflict("promotion request '\(requestID)' was decided meanwhile")
            }
            let protection = try await self.protection(db, model: request.model, alias: alias)
            let needed = protection?.role ?? .contributor
            var failures: [RuleFailure] = []
            if (callerRole ?? .viewer) < needed || callerRole == nil {
                failures.append(RuleFailure(rule: "role", message: "deciding on '\(alias)' needs the \(needed.rawValue) role on \(request.model); you have \(callerRole?.rawValue ?? "none")"))
            }
            // A deploy's request: approving it starts the rollout (SQLMetadataStore+Deployments.swift).
            if let parameters = try row.decode(column: "deployment", as: String?.self) {
                return try await self.decideDeployment(db, request: request, modelID: modelID, parameters: parameters, approve: approve, needed: needed, failures: failures,
                                                       forcedIncompatible: forcedIncompatible, change: change, now: now)
            }
            if !approve {
                if !failures.isEmpty && change.actor != request.requestedBy {
                    return PromotionResult(status: .refused, requestID: requestID, failures: failures, model: request.model, alias: alias.value, version: request.version)
                }
                try await db.raw("""
                    UPDATE promotion_requests SET status = 'rejected', decided_by = \(bind: change.actor), decided_at = \(bind: now), decision_reason = \(bind: change.reason)
                    WHERE id = \(bind: requestID)
                    """).run()
                try await self.audit(db, change, at: now, action: "promotion.reject", target: "alias/\(request.model)@\(alias)", model: request.model, after: requestID)
                try await self.event(db, .promotionRejected, at: now, model: request.model, ["model": request.model.description, "alias": alias.value, "version": String(request.version), "request_id": requestID, "actor": change.actor])
                return PromotionResult(status: .refused, requestID: requestID, failures: [RuleFailure(rule: "approval", message: "rejected by \(change.actor)")], model: request.model, alias: alias.value, version: request.version)
            }
            if change.actor == request.requestedBy {
                failures.append(RuleFailure(rule: "approval", message: "\(change.actor) requested this promotion and cannot approve it; another \(needed.rawValue) must"))
            }
            let current = try await self.currentVersion(db, modelID: modelID, alias: alias)
            let attempt = PromotionAttempt(
                model: request.model, alias: alias, version: request.version,
                expectCurrent: try row.decode(column: "expect_current", as: Int?.self),
                expectAbsent: try row.decode(column: "expect_absent", as: Int.self) != 0, mode: .promote, role: callerRole)
            let target = try await self.target(db, modelID: modelID, model: request.model, version: request.version, current: current)
            failures += self.expectationFailures(attempt, current: current)
            failures += try await self.gateFailures(db, target: target, gates: protection?.gates ?? [])
            if !failures.isEmpty {
                return PromotionResult(status: .refused, requestID: requestID, failures: failures, model: request.model, alias: alias.value, version: request.version)
            }
            try await db.raw("""
                UPDATE promotion_requests SET status = 'approved', decided_by = \(bind: change.actor), decided_at = \(bind: now), decision_reason = \(bind: change.reason)
                WHERE id = \(bind: requestID)
                """).run()
            try await self.audit(db, change, at: now, action: "promotion.approve", target: "alias/\(request.model)@\(alias)", model: request.model, after: requestID)
            try await self.event(db, .promotionApproved, at: now, model: request.model, ["model": request.model.description, "alias": alias.value, "version": String(request.version), "request_id": requestID, "actor": change.actor])
            var moveChange = change
            moveChange.reason = change.reason ?? request.reason
            try await self.applyMove(db, model: request.model, alias: alias, target: target, change: moveChange, now: now)
            return PromotionResult(status: .applied, requestID: requestID, failures: [], model: request.model, alias: alias.value, version: request.version)
        }
        if result.status == .refused && approve { try await recordRefusal(result, change: change) }
        return result
    }

    /// A refused promotion changes nothing but is recorded: audit entry and event.
    func recordRefusal(_ result: PromotionResult, change: ChangeContext) async throws {
        let now = clock()
        let rules = result.failures.map { "\($0.rule): \($0.message)" }.joined(separator: "; ")
        try await write { db in
            try await self.audit(db, change, at: now, action: "promotion.refuse", target: "alias/\(result.model)@\(result.alias)", model: result.model, after: "\(result.version) refused: \(rules)")
            try await self.event(db, .promotionRefused, at: now, model: result.model, ["model": result.model.description, "alias": result.alias, "version": String(result.version), "failures": rules, "actor": change.actor])
        }
    }

    /// Takes the model row's lock (a no-op UPDATE), serializing alias moves of one model on
    /// every database; returns the model id.
    func lockModel(_ db: any SQLDatabase, _ model: ModelName) async throws -> String {
        guard let row = try await db.raw("""
            UPDATE models SET version_seq = version_seq WHERE owner = \(bind: model.owner) AND name = \(bind: model.name) RETURNING id
            """).first() else {
            throw VesselError.notFound("model '\(model)' does not exist")
        }
        return try row.decode(column: "id", as: String.self)
    }

    func currentVersion(_ db: any SQLDatabase, modelID: String, alias: AliasName) async throws -> Int? {
        try await db.raw("""
            SELECT v.number FROM aliases a JOIN versions v ON v.id = a.version_id WHERE a.model_id = \(bind: modelID) AND a.name = \(bind: alias.value)
            """).first().map { try $0.decode(column: "number", as: Int.self) }
    }

    func target(_ db: any SQLDatabase, modelID: String, model: ModelName, version: Int, current: Int?) async throws -> Target {
        guard let row = try await db.raw("""
            SELECT id, state, digest, manifest_digest, created_by, scan_report FROM versions WHERE model_id = \(bind: modelID) AND number = \(bind: version) AND state <> 'deleted'
            """).first() else {
            throw VesselError.notFound("version \(model):\(version) does not exist")
        }
        return Target(
            modelID: modelID,
            versionID: try row.decode(column: "id", as: String.self),
            state: try row.decode(column: "state", as: String.self),
            digest: try row.decode(column: "digest", as: String.self),
            manifestDigest: try row.decode(column: "manifest_digest", as: String.self),
            createdBy: try row.decode(column: "created_by", as: String.self),
            scan: try row.decode(column: "scan_report", as: String?.self).map { try Self.decodeJSON([FileScanReport].self, $0) },
            current: current
        )
    }

    func expectationFailures(_ attempt: PromotionAttempt, current: Int?) -> [RuleFailure] {
        if attempt.expectAbsent, let current {
            return [RuleFailure(rule: "expect-current", message: "'\(attempt.alias)' already points at version \(current); expected it not to exist")]
        }
        if let expected = attempt.expectCurrent, current != expected {
            return [RuleFailure(rule: "expect-current", message: "'\(attempt.alias)' \(current.map { "points at version \($0)" } ?? "does not exist"), not version \(expected) as expected")]
        }
        return []
    }
}
