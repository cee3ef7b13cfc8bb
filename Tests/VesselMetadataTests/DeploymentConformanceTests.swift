import Foundation
import Testing
import VesselCore
@testable import VesselMetadata

/// The deployment store's contract (issue 23), on every backend in `MetadataHarness.backends`.
@Suite struct DeploymentConformanceTests {
    let model = try! ModelName("acme/m")
    let env = try! AliasName("prod-eu")
    static let ci = ChangeContext(actor: "ci", requestID: "req-ci")

    /// Versions 1...count of `model`, each with its own content and root digest (so each has
    /// its own checks, and a report can tell them apart).
    func versions(_ store: SQLMetadataStore, _ count: Int) async throws {
        for index in 1...count {
            let manifest = try MetadataHarness.manifest([("w\(index).safetensors", UInt8(index))])
            for entry in manifest.entries { try await store.recordBlob(entry.digest, size: entry.size) }
            let draft = try await store.createDraft(model: model, manifest: manifest, digest: MetadataHarness.digest(UInt8(100 + index)), description: "", change: MetadataHarness.admin)
            _ = try await store.commitDraft(model: model, draftID: draft, findings: [], analysis: VersionAnalysis(), change: MetadataHarness.admin)
        }
    }

    func deploy(_ store: SQLMetadataStore, _ version: Int, plan: DeploymentPlan = DeploymentPlan(), replace: Bool = false, expect: Int? = nil,
                role: Role? = .admin, change: ChangeContext = MetadataHarness.admin) async throws -> DeploymentResult {
        try await store.deploy(DeployAttempt(model: model, env: env, version: version, plan: plan, replace: replace, expectRevision: expect, role: role), change: change)
    }

    func advance(_ store: SQLMetadataStore, expect: Int? = nil, role: Role? = .admin, change: ChangeContext = MetadataHarness.admin) async throws -> DeploymentResult {
        try await store.advanceDeployment(DeploymentAttempt(model: model, env: env, expectRevision: expect, role: role), change: change)
    }

    func rollback(_ store: SQLMetadataStore, expect: Int? = nil, role: Role? = .admin, change: ChangeContext = MetadataHarness.admin) async throws -> DeploymentResult {
        try await store.rollbackDeployment(DeploymentAttempt(model: model, env: env, expectRevision: expect, role: role), change: change)
    }

    func report(_ store: SQLMetadataStore, _ slot: DeploymentSlot, requests: Int, errors: Int, p99: Double? = nil, digest: Digest? = nil) async throws -> DeploymentReportResult {
        try await store.reportDeployment(model: model, env: env, DeploymentReportRequest(slot: slot.rawValue, digest: digest, requests: requests, errors: errors, p99Ms: p99),
                                         change: ChangeContext(actor: "router", requestID: "req-report"))
    }

    func passCheck(_ store: SQLMetadataStore, _ version: Int, _ name: String, status: String = "passed", by change: ChangeContext = DeploymentConformanceTests.ci) async throws {
        _ = try await store.reportCheck(model: model, version: version, CheckReportRequest(name: name, status: status, metrics: [:], url: nil), change: change)
    }

    func deploymentEvents(_ store: SQLMetadataStore) async throws -> [OutboxEvent] {
        try await store.outboxEvents(after: 0, limit: 1000).filter { $0.type.hasPrefix("deployment.") }
    }

    func deploymentAudit(_ store: SQLMetadataStore) async throws -> [AuditEntry] {
        try await store.auditEntries(model: model, limit: 1000, cursor: nil).items.filter { $0.target == "deployment/acme/m@prod-eu" }
    }

    // MARK: Deploy, advance, complete

    /// Into an empty environment a version goes into blue and is live at once; every later
    /// deploy goes into the other pool at weight 0.
    @Test(arguments: MetadataHarness.backends)
    func theFirstDeployIsLiveTheNextOneACandidate(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            try await versions(store, 2)
            let first = try await deploy(store, 1, change: ChangeContext(actor: "admin", requestID: "r1", reason: "first"))
            #expect(first.outcome == .applied)
            let live = try #require(first.deployment)
            #expect(live.status == .serving && live.live == .blue && live.revision == 1 && live.candidateWeight == 0 && live.step == 0)
            #expect(live.slots.blue?.version == 1 && live.slots.green == nil)
            #expect(live.routes.map(\.weight) == [100] && live.routes.first?.slot == .blue)
            #expect(try await store.deployment(model: model, env: env) == live)

            let second = try await deploy(store, 2, plan: DeploymentPlan(steps: [5, 100]))
            let rolling = try #require(second.deployment)
            #expect(rolling.status == .rollingOut && rolling.live == .blue && rolling.revision == 2 && rolling.candidateWeight == 0 && rolling.step == 0)
            #expect(rolling.slots.green?.version == 2 && rolling.slots.blue?.version == 1 && rolling.steps == [5, 100])
            #expect(rolling.routes.map { "\($0.slot.rawValue) \($0.version) \($0.weight)" } == ["blue 1 100", "green 2 0"])

            let events = try await deploymentEvents(store)
            #expect(events.map(\.type) == ["deployment.completed", "deployment.started"])
            #expect(events[0].payload["version"] == "1" && events[0].payload["slot"] == "blue" && events[0].payload["env"] == "prod-eu" && events[0].payload["reason"] == "first")
            #expect(events[1].payload["version"] == "2" && events[1].payload["slot"] == "green" && events[1].payload["revision"] == "2")
            let audit = try await deploymentAudit(store)
            #expect(audit.map(\.action) == ["deployment.deploy", "deployment.start"])
            #expect(audit[0].before == nil && audit[0].after?.contains("live blue") == true && audit[0].reason == "first")
            let history = try await store.deploymentHistory(model: model, env: env, limit: 10, cursor: nil).items
            #expect(history.map(\.action) == ["deployed", "started"])
            #expect(history.map(\.revision) == [1, 2])
            #expect(history[0].until == history[1].at && history[1].until == nil)
            #expect(history[0].actor == "admin" && history[0].reason == "first" && !history[0].automatic)
        }
    }

    /// 1 → 10 → 50 → 100 with a smoke check: refused before the first non-zero step until the
    /// check passed (never by the version's creator), then every step, then completion flips
    /// the live pool and the other pool keeps the previous version.
    @Test(arguments: MetadataHarness.backends)
    func aFullRolloutWithASmokeCheck(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            try await versions(store, 2)
            _ = try await deploy(store, 1)
            let started = try await deploy(store, 2, plan: DeploymentPlan(smoke: ["smoke", "latency@qa-bot"]))
            #expect(started.deployment?.smoke == ["smoke", "latency@qa-bot"])

            let missing = try await advance(store)
            #expect(missing.outcome == .refused)
            #expect(missing.failures.map(\.rule) == ["smoke:smoke", "smoke:latency@qa-bot"])
            #expect(missing.deployment?.revision == 2 && missing.deployment?.candidateWeight == 0)
            // The version's creator (admin) cannot certify it; a failed report does not pass.
            try await passCheck(store, 2, "smoke", by: MetadataHarness.admin)
            try await passCheck(store, 2, "latency", status: "failed", by: ChangeContext(actor: "qa-bot", requestID: nil))
            let stillMissing = try await advance(store)
            #expect(stillMissing.failures.map(\.rule) == ["smoke:smoke", "smoke:latency@qa-bot"])
            #expect(stillMissing.failures.first?.message.contains("created the version") == true, "\(stillMissing.failures)")
            try await passCheck(store, 2, "smoke")
            try await passCheck(store, 2, "latency", by: ChangeContext(actor: "qa-bot", requestID: nil))

            var weights: [Int] = []
            for expected in [1, 10, 50] {
                let step = try await advance(store)
                #expect(step.outcome == .applied)
                let deployment = try #require(step.deployment)
                #expect(deployment.status == .rollingOut && deployment.live == .blue)
                weights.append(deployment.candidateWeight)
                #expect(deployment.routes.map(\.weight) == [100 - expected, expected])
            }
            #expect(weights == [1, 10, 50])
            let done = try #require(try await advance(store).deployment)
            #expect(done.status == .completed && done.live == .green && done.candidateWeight == 0 && done.step == 4 && done.revision == 6, "refusals change nothing")
            #expect(done.slots.green?.version == 2 && done.slots.blue?.version == 1)
            #expect(done.routes.map { "\($0.slot.rawValue) \($0.weight)" } == ["green 100", "blue 0"])
            await expectCode(.conflict) { _ = try await advance(store) }

            let events = try await deploymentEvents(store)
            #expect(events.map(\.type) == ["deployment.completed", "deployment.started", "deployment.advanced", "deployment.advanced", "deployment.advanced", "deployment.completed"])
            #expect(events.last?.payload["version"] == "2" && events.last?.payload["previous_version"] == "1" && events.last?.payload["live"] == "green")
            #expect(events[2...4].map { $0.payload["candidate_weight"] } == ["1", "10", "50"])
            let audit = try await deploymentAudit(store)
            #expect(audit.map(\.action) == ["deployment.deploy", "deployment.start", "deployment.refuse", "deployment.refuse",
                                            "deployment.advance", "deployment.advance", "deployment.advance", "deployment.complete"])
            let history = try await store.deploymentHistory(model: model, env: env, limit: 1000, cursor: nil).items
            #expect(history.map(\.action) == ["deployed", "started", "advanced", "advanced", "advanced", "completed"])
            #expect(history.map(\.candidateWeight) == [0, 0, 1, 10, 50, 0])
            #expect(history.map(\.revision) == [1, 2, 3, 4, 5, 6])
            #expect(zip(history, history.dropFirst()).allSatisfy { $0.until == $1.at } && history.last?.until == nil)
        }
    }

    /// A rollback at weight 0, 1, 10 and 50 takes the candidate's traffic away and leaves the
    /// live pool alone; after completion it flips the live pointer back; then there is
    /// nothing to roll back.
    @Test(arguments: MetadataHarness.backends)
    func rollbackAtEveryStepAndAfterCompletion(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            try await versions(store, 2)
            await expectCode(.notFound) { _ = try await rollback(store) }
            _ = try await deploy(store, 1)
            await expectCode(.conflict) { _ = try await rollback(store) }
            for advances in 0...3 {
                _ = try await deploy(store, 2)
                for _ in 0..<advances { #expect(try await advance(store).outcome == .applied) }
                let back = try await rollback(store, change: ChangeContext(actor: "admin", requestID: nil, reason: "step \(advances)"))
                let deployment = try #require(back.deployment)
                #expect(back.outcome == .applied)
                #expect(deployment.status == .rolledBack && deployment.candidateWeight == 0 && deployment.live == .blue, "after \(advances) advances")
                #expect(deployment.slots.green?.version == 2, "the candidate's pool keeps its version")
                #expect(deployment.routes.map(\.weight) == [100, 0])
                await expectCode(.conflict) { _ = try await rollback(store) }
                let event = try #require(try await deploymentEvents(store).last)
                #expect(event.type == "deployment.rolled_back" && event.payload["automatic"] == "false" && event.payload["reason"] == "step \(advances)")
                #expect(event.payload["version"] == "2")
            }
            _ = try await deploy(store, 2)
            for _ in 0..<4 { _ = try await advance(store) }
            #expect(try await store.deployment(model: model, env: env).live == .green)
            let flipped = try #require(try await rollback(store).deployment)
            #expect(flipped.status == .rolledBack && flipped.live == .blue && flipped.slots.blue?.version == 1 && flipped.slots.green?.version == 2)
            #expect(flipped.routes.map { "\($0.slot.rawValue) \($0.version) \($0.weight)" } == ["blue 1 100", "green 2 0"])
            await expectCode(.conflict) { _ = try await rollback(store) }
            let history = try await store.deploymentHistory(model: model, env: env, limit: 1000, cursor: nil).items
            #expect(history.filter { $0.action == "rolled_back" }.count == 5)
            #expect(try await deploymentAudit(store).filter { $0.action == "deployment.rollback" }.count == 5)
        }
    }

    // MARK: Errors

    @Test(arguments: MetadataHarness.backends)
    func revisionsRolloutsInProgressAndBadInput(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            try await versions(store, 3)
            do {
                _ = try await deploy(store, 1, expect: 3)
                Issue.record("a wrong revision applied")
            } catch let error as VesselError {
                #expect(error.code == .preconditionFailed && error.message.contains("revision 0"), "\(error.message)")
            }
            _ = try await deploy(store, 1, expect: 0)
            await expectCode(.preconditionFailed) { _ = try await deploy(store, 2, expect: 0) }
            _ = try await deploy(store, 2, expect: 1)
            do {
                _ = try await advance(store, expect: 1)
                Issue.record("a stale advance applied")
            } catch let error as VesselError {
                #expect(error.code == .preconditionFailed && error.message.contains("at revision 2"), "\(error.message)")
            }
            await expectCode(.preconditionFailed) { _ = try await rollback(store, expect: 7) }
            await expectCode(.conflict) { _ = try await deploy(store, 3) }
            let replaced = try await deploy(store, 3, replace: true)
            #expect(replaced.deployment?.slots.green?.version == 3 && replaced.deployment?.revision == 3 && replaced.deployment?.status == .rollingOut)
            #expect(try await deploymentEvents(store).last?.payload["replaced_version"] == "2")

            for steps in [[], [1, 10], [10, 1, 100], [0, 100], [1, 1, 100], [50, 101], [-5, 100]] {
                await expectCode(.invalidArgument) { _ = try await deploy(store, 3, plan: DeploymentPlan(steps: steps), replace: true) }
            }
            await expectCode(.invalidArgument) { _ = try await deploy(store, 3, plan: DeploymentPlan(maxErrorRate: 2), replace: true) }
            await expectCode(.invalidArgument) { _ = try await deploy(store, 3, plan: DeploymentPlan(maxP99Ms: -1), replace: true) }
            await expectCode(.invalidArgument) { _ = try await deploy(store, 3, plan: DeploymentPlan(minRequests: 0), replace: true) }
            await expectCode(.invalidArgument) { _ = try await deploy(store, 3, plan: DeploymentPlan(smoke: ["bad name!"]), replace: true) }
            await expectCode(.invalidArgument) { _ = try await deploy(store, 0) }
            await expectCode(.notFound) { _ = try await deploy(store, 9, replace: true) }
            await expectCode(.notFound) {
                _ = try await store.deploy(DeployAttempt(model: try ModelName("acme/none"), env: env, version: 1, plan: DeploymentPlan(), role: .admin), change: MetadataHarness.admin)
            }
            // A version that is not ready: the error `alias set` gives for it.
            let quarantined = try await MetadataHarness.commit(store, model, files: [("q.bin", 40)], findings: [Finding(validator: "scan", code: "x", message: "bad")])
            await expectCode(.refused) { _ = try await deploy(store, quarantined.version, replace: true) }
            _ = try await store.changeState(model: model, version: 1, to: .archived, change: MetadataHarness.admin)
            await expectCode(.refused) { _ = try await deploy(store, 1, replace: true) }
            await expectCode(.invalidArgument) { _ = try await report(store, .green, requests: 1, errors: 2) }
            await expectCode(.invalidArgument) { _ = try await report(store, .green, requests: -1, errors: 0) }
            await expectCode(.invalidArgument) {
                _ = try await store.reportDeployment(model: model, env: env, DeploymentReportRequest(slot: "purple", requests: 1, errors: 0), change: Self.ci)
            }
            #expect(try await store.deployment(model: model, env: env).revision == 3, "nothing refused changed the deployment")
        }
    }

    // MARK: Reports

    /// Reports are observations: a stale digest is ignored, the live pool's figures are not
    /// judged, nothing bumps the revision or writes an audit entry, and below min-requests no
    /// rule applies. Crossing the error rate rolls back at once, as `system`, with the figures.
    @Test(arguments: MetadataHarness.backends)
    func reportsRollBackByErrorRate(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            try await versions(store, 2)
            _ = try await deploy(store, 1)
            _ = try await deploy(store, 2, plan: DeploymentPlan(maxErrorRate: 0.05, minRequests: 100))
            _ = try await advance(store)
            let audited = try await store.auditEntries(model: model, limit: 1000, cursor: nil).items.count
            let eventCount = try await store.outboxEvents(after: 0, limit: 1000).count
            let v1 = try await store.deployment(model: model, env: env).slots.blue!.digest

            let stale = try await report(store, .green, requests: 1000, errors: 1000, digest: v1)
            #expect(stale.report.stale && !stale.report.counted && !stale.report.rolledBack)
            let live = try await report(store, .blue, requests: 1000, errors: 900, digest: v1)
            #expect(!live.report.stale && !live.report.counted && !live.report.rolledBack)
            let few = try await report(store, .green, requests: 60, errors: 30)
            #expect(few.report.counted && few.report.requests == 60 && few.report.errors == 30 && !few.report.rolledBack)
            #expect(few.result.deployment?.revision == 3 && few.result.deployment?.status == .rollingOut)
            #expect(try await store.auditEntries(model: model, limit: 1000, cursor: nil).items.count == audited, "reports are not audited")
            #expect(try await store.outboxEvents(after: 0, limit: 1000).count == eventCount, "reports are not events")

            let crossing = try await report(store, .green, requests: 40, errors: 0)
            #expect(crossing.report.rolledBack && crossing.report.requests == 100 && crossing.report.errors == 30)
            let reason = try #require(crossing.report.reason)
            #expect(reason.contains("error rate 0.3") && reason.contains("30 errors in 100 requests") && reason.contains("0.05"), "\(reason)")
            let after = try #require(crossing.result.deployment)
            #expect(after.status == .rolledBack && after.candidateWeight == 0 && after.revision == 4 && after.live == .blue)
            let event = try #require(try await deploymentEvents(store).last)
            #expect(event.type == "deployment.rolled_back" && event.payload["automatic"] == "true" && event.payload["actor"] == "system" && event.payload["reason"] == reason)
            let entry = try #require(try await deploymentAudit(store).last)
            #expect(entry.action == "deployment.rollback" && entry.actor == "system" && entry.reason == reason)
            let last = try #require(try await store.deploymentHistory(model: model, env: env, limit: 100, cursor: nil).items.last)
            #expect(last.automatic && last.actor == "system" && last.action == "rolled_back")
            // After the rollback nothing is judged any more.
            let later = try await report(store, .green, requests: 1000, errors: 1000)
            #expect(!later.report.counted && !later.report.rolledBack && later.result.deployment?.revision == 4)
        }
    }

    /// The p99 rule uses the highest p99 reported since the step began; a new step starts the
    /// window again; without thresholds nothing rolls back.
    @Test(arguments: MetadataHarness.backends)
    func reportsRollBackByP99(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            try await versions(store, 3)
            _ = try await deploy(store, 1)
            _ = try await deploy(store, 2)
            _ = try await advance(store)
            let unguarded = try await report(store, .green, requests: 10_000, errors: 10_000, p99: 99_999)
            #expect(unguarded.report.counted && !unguarded.report.rolledBack)

            _ = try await deploy(store, 3, plan: DeploymentPlan(maxP99Ms: 250, minRequests: 50), replace: true)
            _ = try await advance(store)
            let slow = try await report(store, .green, requests: 40, errors: 0, p99: 900)
            #expect(!slow.report.rolledBack && slow.report.p99Ms == 900, "below min-requests")
            _ = try await advance(store)
            let window = try await report(store, .green, requests: 40, errors: 0, p99: 200)
            #expect(window.report.requests == 40 && window.report.p99Ms == 200 && !window.report.rolledBack, "the window starts again at each step")
            let spike = try await report(store, .green, requests: 20, errors: 0, p99: 300.5)
            #expect(spike.report.rolledBack && spike.report.p99Ms == 300.5)
            #expect(spike.report.reason?.contains("p99 300.5 ms") == true && spike.report.reason?.contains("250") == true, "\(spike.report.reason ?? "")")
            #expect(spike.result.deployment?.status == .rolledBack)
        }
    }

    // MARK: Governance

    /// The environment's name governs as an alias of that name: the protection's role to
    /// deploy, advance and roll back; approval turns a deploy into a request that keeps the
    /// rollout's parameters and starts it when approved; gates at start and at advance; and
    /// no gate or approval ever blocks a rollback.
    @Test(arguments: MetadataHarness.backends)
    func governedLikeAnAliasOfTheEnvironmentsName(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            try await versions(store, 3)
            _ = try await store.protect(ProtectRequest(scope: "acme/*", alias: "prod-eu", role: .maintainer, requireApproval: false, gates: ["check:eval"]), change: MetadataHarness.admin)
            let contributor = try await deploy(store, 1, role: .contributor, change: Self.ci)
            #expect(contributor.outcome == .refused && contributor.deployment == nil)
            #expect(contributor.failures.map(\.rule) == ["role", "check:eval"])
            #expect(try await deploymentAudit(store).map(\.action) == ["deployment.refuse"])
            await expectCode(.notFound) { _ = try await store.deployment(model: model, env: env) }
            try await passCheck(store, 1, "eval")
            #expect(try await deploy(store, 1, role: .maintainer).outcome == .applied)

            // Gates are judged again at advance, against the candidate.
            try await passCheck(store, 2, "eval")
            #expect(try await deploy(store, 2, role: .maintainer).outcome == .applied)
            try await passCheck(store, 2, "eval", status: "failed")
            let gated = try await advance(store, role: .maintainer)
            #expect(gated.outcome == .refused && gated.failures.map(\.rule) == ["check:eval"])
            #expect(try await advance(store, role: .contributor).failures.map(\.rule) == ["role", "check:eval"])
            // A rollback needs the role only.
            #expect(try await rollback(store, role: .contributor, change: Self.ci).failures.map(\.rule) == ["role"])
            #expect(try await rollback(store, role: .maintainer).outcome == .applied)

            // Approval: a pending request keeps the parameters; approving starts the rollout.
            _ = try await store.protect(ProtectRequest(scope: "acme/*", alias: "prod-eu", role: .maintainer, requireApproval: true, gates: []), change: MetadataHarness.admin)
            let plan = DeploymentPlan(steps: [20, 100], smoke: ["smoke"], maxErrorRate: 0.01, minRequests: 7)
            let pending = try await deploy(store, 3, plan: plan, expect: 3, role: .contributor, change: ChangeContext(actor: "ci", requestID: nil, reason: "ship it"))
            #expect(pending.outcome == .pending && pending.deployment?.revision == 3)
            let id = try #require(pending.requestID)
            #expect(try await deploy(store, 3, plan: plan, expect: 3, role: .contributor, change: Self.ci).requestID == id, "asking again answers the open request")
            let request = try #require(try await store.promotionRequests(model: model).first { $0.id == id })
            #expect(request.kind == "deployment" && request.alias == "prod-eu" && request.version == 3 && request.status == "pending")
            #expect(try await store.deployment(model: model, env: env).revision == 3, "a request changes nothing")
            let selfApproval = try await store.decide(requestID: id, approve: true, role: { _ in .maintainer }, change: Self.ci)
            #expect(selfApproval.status == .refused && selfApproval.failures.map(\.rule) == ["approval"])
            let approved = try await store.decide(requestID: id, approve: true, role: { _ in .maintainer }, change: ChangeContext(actor: "lead", requestID: nil))
            #expect(approved.status == .applied && approved.alias == "prod-eu" && approved.version == 3)
            let started = try await store.deployment(model: model, env: env)
            #expect(started.status == .rollingOut && started.slots.green?.version == 3 && started.steps == [20, 100] && started.smoke == ["smoke"])
            #expect(started.maxErrorRate == 0.01 && started.minRequests == 7 && started.updatedBy == "lead")
            let history = try await store.deploymentHistory(model: model, env: env, limit: 100, cursor: nil).items
            #expect(history.last?.action == "started" && history.last?.reason == "ship it")
            // Advancing needs the role, not approval.
            try await passCheck(store, 3, "smoke")
            #expect(try await advance(store, role: .maintainer).deployment?.candidateWeight == 20)

            // A request whose expected revision passed is refused when approved.
            let stale = try await deploy(store, 2, replace: true, expect: 5, role: .contributor, change: Self.ci)
            let staleID = try #require(stale.requestID)
            _ = try await rollback(store, role: .maintainer)
            let refused = try await store.decide(requestID: staleID, approve: true, role: { _ in .maintainer }, change: ChangeContext(actor: "lead", requestID: nil))
            #expect(refused.status == .refused && refused.failures.map(\.rule) == ["expect-revision"])
            let rejected = try await store.decide(requestID: staleID, approve: false, role: { _ in .maintainer }, change: ChangeContext(actor: "lead", requestID: nil))
            #expect(rejected.status == .refused && rejected.failures.map(\.rule) == ["approval"])
            #expect(try await store.promotionRequests(model: model).first { $0.id == staleID }?.status == "rejected")
        }
    }

    // MARK: Races

    /// Of many callers racing the same advance (or rollback) from the revision they read,
    /// exactly one applies; the others learn the revision moved.
    @Test(arguments: MetadataHarness.backends)
    func racingChangesApplyExactlyOnce(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            try await versions(store, 2)
            _ = try await deploy(store, 1)
            _ = try await deploy(store, 2)
            for operation in ["advance", "rollback"] {
                let revision = try await store.deployment(model: model, env: env).revision
                let outcomes = await withTaskGroup(of: String.self) { group in
                    for index in 0..<8 {
                        group.addTask {
                            do {
                                let change = ChangeContext(actor: "caller-\(index)", requestID: nil)
                                let result = operation == "advance" ? try await advance(store, expect: revision, change: change) : try await rollback(store, expect: revision, change: change)
                                return result.outcome.rawValue
                            } catch let error as VesselError {
                                return error.code.rawValue
                            } catch {
                                return "\(error)"
                            }
                        }
                    }
                    return await group.reduce(into: [String]()) { $0.append($1) }
                }
                #expect(outcomes.filter { $0 == "applied" }.count == 1, "\(operation): \(outcomes)")
                #expect(outcomes.filter { $0 == "precondition_failed" }.count == 7, "\(operation): \(outcomes)")
                #expect(try await store.deployment(model: model, env: env).revision == revision + 1)
            }
        }
    }

    // MARK: Deleting, listing, history

    @Test(arguments: MetadataHarness.backends)
    func aVersionEitherPoolHoldsCannotBeDeleted(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            try await versions(store, 3)
            _ = try await deploy(store, 1)
            _ = try await deploy(store, 2)
            _ = try await rollback(store)
            for version in [1, 2] {
                do {
                    _ = try await store.changeState(model: model, version: version, to: .deleted, change: MetadataHarness.admin)
                    Issue.record("deleted version \(version), which a pool holds")
                } catch let error as VesselError {
                    #expect(error.code == .conflict && error.message.contains("prod-eu"), "\(error.message)")
                }
            }
            #expect(try await store.changeState(model: model, version: 2, to: .archived, change: MetadataHarness.admin).state == .archived)
            _ = try await deploy(store, 3)
            #expect(try await store.changeState(model: model, version: 2, to: .deleted, change: MetadataHarness.admin).state == .deleted)
            #expect(try await store.deployment(model: model, env: env).slots.green?.version == 3)
        }
    }

    /// Lists filter by the caller's scopes in the query and page with signed cursors; history
    /// pages oldest first; serving intervals answer which versions served, from when to when.
    @Test(arguments: MetadataHarness.backends)
    func listsHistoryAndServingIntervals(_ backend: String) async throws {
        try await MetadataHarness.withStore(backend) { store, _ in
            let other = try ModelName("beta/x")
            _ = try await MetadataHarness.commit(store, model)
            _ = try await MetadataHarness.commit(store, other)
            for name in ["dev", "prod-eu", "prod-us"] {
                _ = try await store.deploy(DeployAttempt(model: model, env: try AliasName(name), version: 1, plan: DeploymentPlan(), role: .admin), change: MetadataHarness.admin)
            }
            _ = try await store.deploy(DeployAttempt(model: other, env: env, version: 1, plan: DeploymentPlan(), role: .admin), change: MetadataHarness.admin)

            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await store.listDeployments(readable: [.registry], model: nil, env: nil, limit: 2, cursor: cursor)
                seen += page.items.map { "\($0.model)@\($0.env)" }
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == ["acme/m@dev", "acme/m@prod-eu", "acme/m@prod-us", "beta/x@prod-eu"])
            #expect(try await store.listDeployments(readable: [.owner("beta")], model: nil, env: nil, limit: 10, cursor: nil).items.map(\.model) == [other])
            #expect(try await store.listDeployments(readable: [], model: nil, env: nil, limit: 10, cursor: nil).items.isEmpty)
            #expect(try await store.listDeployments(readable: [.registry], model: nil, env: env, limit: 10, cursor: nil).items.map(\.model) == [model, other])
            #expect(try await store.listDeployments(readable: [.registry], model: model, env: nil, limit: 10, cursor: nil).items.map(\.env) == ["dev", "prod-eu", "prod-us"])
            let first = try await store.listDeployments(readable: [.registry], model: nil, env: nil, limit: 1, cursor: nil)
            await expectCode(.invalidArgument) { _ = try await store.listDeployments(readable: [.registry], model: model, env: nil, limit: 1, cursor: first.nextCursor) }

            _ = try await MetadataHarness.commit(store, model, files: [("w2", 2)])
            _ = try await deploy(store, 2, plan: DeploymentPlan(steps: [50, 100]))
            _ = try await advance(store)
            _ = try await advance(store)
            let page = try await store.deploymentHistory(model: model, env: env, limit: 2, cursor: nil)
            #expect(page.items.map(\.revision) == [1, 2] && page.nextCursor != nil)
            let rest = try await store.deploymentHistory(model: model, env: env, limit: 10, cursor: page.nextCursor)
            #expect(rest.items.map(\.action) == ["advanced", "completed"] && rest.nextCursor == nil)
            await expectCode(.notFound) { _ = try await store.deploymentHistory(model: model, env: try AliasName("staging"), limit: 10, cursor: nil) }

            let history = page.items + rest.items
            let intervals = try await store.servingIntervals(model: model, env: env)
            #expect(intervals.map(\.version) == [1, 2])
            // Version 1 served from the first deploy until the rollout completed; version 2 from
            // its first non-zero step, and still does.
            #expect(intervals[0].from == history[0].at && intervals[0].until == history[3].at)
            #expect(intervals[1].from == history[2].at && intervals[1].until == nil)
        }
    }
}
