import VesselCore

/// Deployments (issue 23, docs/deployments.md): which version each pool of a (model,
/// environment) holds, which pool is live, the candidate's weight, and the rules that change
/// them. Every change is one transaction: the deployment row (its revision one higher), a
/// history row, its audit entry and its event. Deploying into an environment is governed like
/// promoting to an alias of the environment's name (`GovernanceStore.protect`).
public protocol DeploymentStore: Sendable {
    /// Puts a version into an environment. Into an empty environment it goes into blue, which
    /// becomes live (`serving`); otherwise into the pool that is not live at weight 0
    /// (`rolling_out`). Rule failures (role, gates) are a `refused` result, audited; approval
    /// makes a promotion request holding the rollout's parameters (`pending`), which
    /// `GovernanceStore.decide` starts.
    /// - Throws: `invalid_argument` for a bad plan, `not_found`, `precondition_failed` when
    ///   `expectRevision` does not hold (naming the current revision), `conflict` during a
    ///   rollout without `replace`, `refused` for a version that is not ready.
    func deploy(_ attempt: DeployAttempt, change: ChangeContext) async throws -> DeploymentResult
    /// Moves the candidate to the next step's weight; at 100 the rollout completes and the live
    /// pool flips. Needs the protection's role; the protection's gates are judged against the
    /// candidate, and before the first non-zero step every smoke check must have passed.
    /// - Throws: `not_found`, `precondition_failed`, `conflict` when no rollout is in progress.
    func advanceDeployment(_ attempt: DeploymentAttempt, change: ChangeContext) async throws -> DeploymentResult
    /// During a rollout the candidate's weight drops to 0; after a completed rollout the live
    /// pool flips back. Needs the protection's role only: no gate or approval blocks it.
    /// - Throws: `not_found`, `precondition_failed`, `conflict` when there is nothing to roll back.
    func rollbackDeployment(_ attempt: DeploymentAttempt, change: ChangeContext) async throws -> DeploymentResult
    /// Records what serving observed on a pool. Not a change (no revision, no audit entry, no
    /// event) unless it crosses a rollback rule, when the rollback (actor `system`) happens in
    /// the same transaction.
    /// - Throws: `invalid_argument`, `not_found`.
    func reportDeployment(model: ModelName, env: AliasName, _ report: DeploymentReportRequest, change: ChangeContext) async throws -> DeploymentReportResult
    /// - Throws: `not_found` when the environment holds no deployment of the model.
    func deployment(model: ModelName, env: AliasName) async throws -> DeploymentInfo
    /// One page of deployments, ordered by model then environment: of `model` when given, in
    /// `env` when given, and only of models a scope in `readable` covers (filtered in the query).
    func listDeployments(readable: [Scope], model: ModelName?, env: AliasName?, limit: Int, cursor: String?) async throws -> Page<DeploymentInfo>
    /// One page of a deployment's changes, oldest first. - Throws: `not_found`.
    func deploymentHistory(model: ModelName, env: AliasName, limit: Int, cursor: String?) async throws -> Page<DeploymentHistoryEntry>
    /// Which versions took traffic in the environment, from when to when, oldest first.
    func servingIntervals(model: ModelName, env: AliasName) async throws -> [ServingInterval]
}

/// One `deploy`.
public struct DeployAttempt: Sendable {
    public var model: ModelName
    public var env: AliasName
    public var version: Int
    public var plan: DeploymentPlan
    public var replace: Bool
    /// 0: only while the environment holds no deployment.
    public var expectRevision: Int?
    /// The caller's highest role covering the model.
    public var role: Role?
    /// The failing requirements a `--force-incompatible` deploy goes past (empty: none): recorded
    /// in a `deployment.force_incompatible` audit entry in the deploy's transaction.
    public var forcedIncompatible: [String] = []

    public init(model: ModelName, env: AliasName, version: Int, plan: DeploymentPlan, replace: Bool = false, expectRevision: Int? = nil, role: Role?) {
        self.model = model
        self.env = env
        self.version = version
        self.plan = plan
        self.replace = replace
        self.expectRevision = expectRevision
        self.role = role
    }
}

/// One `advance` or `rollback`.
public struct DeploymentAttempt: Sendable {
    public var model: ModelName
    public var env: AliasName
    public var expectRevision: Int?
    public var role: Role?

    public init(model: ModelName, env: AliasName, expectRevision: Int? = nil, role: Role?) {
        self.model = model
        self.env = env
        self.expectRevision = expectRevision
        self.role = role
    }
}
