import Foundation
import SQLKit
import VesselCore

/// Reports: observations of serving, summed on the deployment row; a candidate whose figures
/// cross a rule is rolled back in the report's transaction (actor `system`).
extension SQLMetadataStore {
    public func reportDeployment(model: ModelName, env: AliasName, _ report: DeploymentReportRequest, change: ChangeContext) async throws -> DeploymentReportResult {
        try report.validate()
        let slot = try DeploymentSlot(parsing: report.slot)
        let now = clock()
        return try await write { db -> DeploymentReportResult in
            let modelID = try await self.lockModel(db, model)
            guard var current = try await self.deploymentRow(db, modelID: modelID, env: env.value) else { throw Self.noDeployment(model, env.value) }
            func answer(_ deployment: DeploymentRow, stale: Bool = false, counted: Bool = false, rolledBack: Bool = false, reason: String? = nil) -> DeploymentReportResult {
                DeploymentReportResult(
                    result: DeploymentResult(model: model, env: env.value, deployment: deployment.info, outcome: .applied),
                    report: DeploymentReportOutcome(slot: slot, stale: stale, counted: counted,
                                                    requests: counted ? deployment.windowRequests : nil, errors: counted ? deployment.windowErrors : nil,
                                                    p99Ms: counted ? deployment.windowP99Micros.map { Double($0) / 1000 } : nil,
                                                    rolledBack: rolledBack, reason: reason))
            }
            guard let held = current.slots[slot], report.digest == nil || report.digest == held.digest else {
                return answer(current, stale: true)
            }
            // Only the candidate's figures during a rollout are judged; the live pool's are accepted and dropped.
            guard current.candidate == slot else { return answer(current) }
            current.windowRequests += report.requests
            current.windowErrors += report.errors
            if let p99 = report.p99Ms {
                let micros = Int64((p99 * 1000).rounded())
                current.windowP99Micros = max(current.windowP99Micros ?? micros, micros)
            }
            try await db.raw("""
                UPDATE deployments SET window_requests = \(bind: current.windowRequests), window_errors = \(bind: current.windowErrors),
                  window_p99_us = \(bind: current.windowP99Micros)
                WHERE model_id = \(bind: modelID) AND env = \(bind: env.value)
                """).run()
            guard let reason = Self.crossedRule(current) else { return answer(current, counted: true) }
            let judged = current
            let system = ChangeContext(actor: "system", requestID: change.requestID, reason: reason)
            let after = try Self.rolledBack(current, now: now, actor: system.actor)
            try await self.recordDeploymentChange(db, before: current, after: after, action: .rolledBack, change: system, now: now, automatic: true)
            var reply = answer(after, counted: true, rolledBack: true, reason: reason)
            reply.report.requests = judged.windowRequests
            reply.report.errors = judged.windowErrors
            reply.report.p99Ms = judged.windowP99Micros.map { Double($0) / 1000 }
            return reply
        }
    }

    /// The rule the candidate's figures since its step began cross, and the figures, if any.
    static func crossedRule(_ row: DeploymentRow) -> String? {
        let plan = row.plan
        guard row.windowRequests >= plan.minRequests, row.windowRequests > 0 else { return nil }
        let since = row.step == 0 ? "since the rollout started" : "since step \(row.step) (\(row.candidateWeight)%) began"
        if let limit = plan.maxErrorRate {
            let rate = Double(row.windowErrors) / Double(row.windowRequests)
            if rate > limit {
                return "error rate \(Self.figure(rate)) (\(row.windowErrors) errors in \(row.windowRequests) requests \(since)) is above --max-error-rate \(Self.figure(limit))"
            }
        }
        if let limit = plan.maxP99Ms, let p99 = row.windowP99Micros.map({ Double($0) / 1000 }), p99 > limit {
            return "p99 \(Self.figure(p99)) ms (highest reported in \(row.windowRequests) requests \(since)) is above --max-p99-ms \(Self.figure(limit))"
        }
        return nil
    }

    static func figure(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.4g", value)
    }
}
