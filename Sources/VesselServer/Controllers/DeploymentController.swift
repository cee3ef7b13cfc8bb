import Hummingbird
import Synchronization
import VesselCore
import VesselMetadata

/// Deployments (issue 23, docs/deployments.md): deploy, advance, roll back, report, and the
/// routing document. Rule failures are outcomes (200 `refused`, 202 `pending`), as for
/// `promote`; state and input problems are errors. The store decides every rule inside the
/// transaction that changes the deployment.
struct DeploymentController {
    let store: any DeploymentStore & GrantStore & NodeStore & LineageStore
    /// The long-polls waiting for a change (`?wait=&after=`), woken by every replica's changes.
    let watch: DeploymentWatch
    /// The last read of each long-polled document, shared by the polls it is fresh enough for.
    let shared = SharedReads<SharedDocument>()

    func register(_ routes: APIRoutes) {
        // Any token lists deployments; each caller sees those of the models its grants cover,
        // filtered in the query (as `GET /api/v1/models`). `?env=` keeps one environment.
        routes.on(.get, "/api/v1/deployments", .authenticated) { request, _, caller in
            let readable = caller.role != nil ? [Scope.registry]
                : try await store.grants(principal: caller.principal.name).compactMap { try? Scope($0.scope) }
            let env = try request.uri.queryParameters.get("env").map { try AliasName(String($0)) }
            return try JSONResponse.make(try await store.listDeployments(readable: readable, model: nil, env: env, limit: Query.limit(request), cursor: Query.cursor(request)))
        }
        routes.on(.get, "/api/v1/models/:owner/:name/deployments", .read) { request, context, _ in
            try JSONResponse.make(try await store.listDeployments(readable: [.registry], model: try model(context), env: nil, limit: Query.limit(request), cursor: Query.cursor(request)))
        }
        routes.on(.get, "/api/v1/models/:owner/:name/deployments/:env", .read) { request, context, _ in
            let model = try model(context), env = try env(context)
            guard let poll = try LongPoll(request) else { return try JSONResponse.make(try await document(request, model: model, env: env)) }
            return try await longPoll(request, model: model, env: env, poll)
        }
        routes.on(.get, "/api/v1/models/:owner/:name/deployments/:env/history", .read) { request, context, _ in
            try JSONResponse.make(try await store.deploymentHistory(model: try model(context), env: try env(context), limit: Query.limit(request), cursor: Query.cursor(request)))
        }
        routes.on(.post, "/api/v1/models/:owner/:name/deployments/:env", .write) { request, context, caller in
            let body = try await JSONResponse.decode(DeployRequest.self, from: request, context: context)
            var attempt = DeployAttempt(model: try model(context), env: try env(context), version: body.version, plan: body.plan, replace: body.replace ?? false,
                                        expectRevision: body.expectRevision, role: caller.role)
            let failures = try await Self.incompatibilities(store, model: attempt.model, env: attempt.env, version: attempt.version)
            if !failures.isEmpty {
                guard body.forceIncompatible == true else {
                    throw VesselError(.incompatible, "version \(attempt.version) of \(attempt.model) is incompatible with the environment its nodes in '\(attempt.env)' report: "
                                      + failures.joined(separator: "; ") + " (deploy with --force-incompatible to deploy anyway, audited)", details: failures)
                }
                attempt.forcedIncompatible = failures
            }
            return try Self.answer(try await store.deploy(attempt, change: caller.change(reason: body.reason)))
        }
        routes.on(.post, "/api/v1/models/:owner/:name/deployments/:env/advance", .write) { request, context, caller in
            let body = try await JSONResponse.decode(DeploymentChangeRequest.self, from: request, context: context)
            let attempt = DeploymentAttempt(model: try model(context), env: try env(context), expectRevision: body.expectRevision, role: caller.role)
            return try Self.answer(try await store.advanceDeployment(attempt, change: caller.change(reason: body.reason)))
        }
        routes.on(.post, "/api/v1/models/:owner/:name/deployments/:env/rollback", .write) { request, context, caller in
            let body = try await JSONResponse.decode(DeploymentChangeRequest.self, from: request, context: context)
            let attempt = DeploymentAttempt(model: try model(context), env: try env(context), expectRevision: body.expectRevision, role: caller.role)
            return try Self.answer(try await store.rollbackDeployment(attempt, change: caller.change(reason: body.reason)))
        }
        routes.on(.post, "/api/v1/models/:owner/:name/deployments/:env/reports", .write) { request, context, caller in
            let body = try await JSONResponse.decode(DeploymentReportRequest.self, from: request, context: context)
            return try JSONResponse.make(try await store.reportDeployment(model: try model(context), env: try env(context), body, change: caller.change))
        }
    }

    /// The routing document of `GET …/deployments/:env`: the deployment with its `routes`.
    /// The one place a read of the document goes through, so the long-poll
    /// (`?wait=&after=`) can wrap it.
    func document(_ request: Request, model: ModelName, env: AliasName) async throws -> DeploymentInfo {
        try await store.deployment(model: model, env: env)
    }

    /// `?wait=SECONDS&after=REVISION`: the document as soon as its revision passes `after` (at
    /// once when it already has), 304 without a body when `wait` runs out first, the current
    /// document at once when the server begins its graceful shutdown; `not_found` at once for a
    /// deployment that does not exist. Each wake-up re-reads the document (`DeploymentWatch`);
    /// the polls woken by the same change share one read and one encoding (`SharedReads`).
    func longPoll(_ request: Request, model: ModelName, env: AliasName, _ poll: LongPoll) async throws -> Response {
        let key = DeploymentWatch.Key(model: model.description, env: env.value)
        let watch = watch, shared = shared
        let outcome = try await ShutdownSignal.wait(upTo: poll.wait) {
            // Subscribed before the first read: a change committed after the read began wakes it.
            let subscription = watch.subscribe(key, after: poll.after)
            defer { subscription.cancel() }
            var fresh = subscription.since
            while true {
                let current = try await shared.read(key, startedAfter: fresh, watch: watch) {
                    let info = try await document(request, model: model, env: env)
                    return SharedDocument(info: info, response: try JSONResponse.make(info))
                }
                if current.info.revision > poll.after { return current.response }
                fresh = await subscription.wait()
                try Task.checkCancellation()
            }
        }
        switch outcome {
        case .value(let response): return response
        case .timedOut: return Response(status: .notModified)
        case .shuttingDown: return try JSONResponse.make(try await document(request, model: model, env: env))
        }
    }

    /// 202 for a pending request, 200 otherwise (a refusal is an outcome, not an error).
    static func answer(_ result: DeploymentResult) throws -> Response {
        try JSONResponse.make(result, status: result.outcome == .pending ? .accepted : .ok)
    }

    private func model(_ context: AppContext) throws -> ModelName {
        guard let model = try APIRoutes.model(from: context) else { throw VesselError.invalidArgument("the route names no model") }
        return model
    }

    private func env(_ context: AppContext) throws -> AliasName {
        let text = try context.parameters.require("env")
        do {
            return try AliasName(text)
        } catch {
            throw VesselError.invalidArgument("'\(text)' is not a valid environment name: use 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter")
        }
    }
}

/// A long-poll's parameters: `wait` (seconds, at most `LongPoll.maxWait`; larger values are cut
/// to it) and `after` (a revision, 0 when absent). nil without `wait`.
struct LongPoll: Sendable {
    static let maxWait = 60.0
    let wait: Duration
    let after: Int

    /// Whether a request is a long-poll: it then does not count as API activity (`RequestActivity`).
    static func isLongPoll(_ request: Request) -> Bool {
        // Every request asks: parse the query only when it may hold `wait`.
        guard request.method == .get, let query = request.uri.query, query.contains("wait") else { return false }
        return request.uri.queryParameters["wait"] != nil
    }

    /// - Throws: `invalid_argument` for a `wait` that is not a non-negative number of seconds
    ///   or an `after` that is not a non-negative integer.
    init?(_ request: Request) throws {
        let query = request.uri.queryParameters
        guard let text = query["wait"] else { return nil }
        guard let seconds = Double(String(text)), seconds.isFinite, seconds >= 0 else {
            throw VesselError.invalidArgument("wait must be a number of seconds from 0 to \(Int(Self.maxWait)), e.g. wait=30")
        }
        wait = .milliseconds(Int64(min(seconds, Self.maxWait) * 1000))
        if let text = query["after"] {
            guard let revision = Int(String(text)), revision >= 0 else { throw VesselError.invalidArgument("after must be a revision: a non-negative integer") }
            after = revision
        } else {
            after = 0
        }
    }
}

/// One read of a deployment's document serves many long-polls. A poll may take the last read of
/// its deployment (still running, or done) when that read started after the poll's last
/// wake-up (it sees the change that woke the poll), or after the deployment's last publication
/// (it has seen every change announced so far, and the poll, subscribed first, will be woken by
/// any later one); otherwise it starts a new read. A hundred routers woken by one rollback cost
/// one read and one JSON encoding instead of a hundred, and a poll that comes back for the next
/// change usually reads nothing at all. A read that fails is not kept.
final class SharedReads<Value: Sendable>: Sendable {
    private let reads = Mutex<[DeploymentWatch.Key: (ticket: Int, task: Task<Value, any Error>)]>([:])

    /// A read of `key` fresh enough for a poll last woken at ticket `fresh`: the last one, or a
    /// new one by `body`.
    func read(_ key: DeploymentWatch.Key, startedAfter fresh: Int, watch: DeploymentWatch,
              _ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let lastChange = watch.lastChange(key)
        let task = reads.withLock { reads -> Task<Value, any Error> in
            if let last = reads[key], last.ticket > fresh || last.ticket > lastChange { return last.task }
            // The ticket is taken before the read starts, so it orders the read after `fresh`.
            let ticket = watch.ticket()
            let task = Task {
                do {
                    return try await body()
                } catch {
                    self.forget(key, ticket: ticket)
                    throw error
                }
            }
            reads[key] = (ticket, task)
            return task
        }
        return try await task.value
    }

    private func forget(_ key: DeploymentWatch.Key, ticket: Int) {
        reads.withLock { reads in
            if reads[key]?.ticket == ticket { reads[key] = nil }
        }
    }
}

/// A document as a long-poll answers it: read and encoded once for all the polls that share it.
struct SharedDocument: Sendable {
    let info: DeploymentInfo
    let response: Response
}

extension DeploymentController {
    /// Every requirement of `version` (its requirements file and image, as `vessel env check`
    /// judges them) that an agent of the deployment in `env` fails in the environment it last
    /// reported, as `node NAME: REQUIREMENT: VERDICT (WHY)`. Empty when no agent reported an
    /// environment. Asked when a deploy is requested and again when its request is approved,
    /// before the transaction: an environment reported meanwhile is judged by the next deploy
    /// and by the agent itself (`incompatible`).
    static func incompatibilities(_ store: any NodeStore & LineageStore, model: ModelName, env: AliasName, version: Int) async throws -> [String] {
        let nodes = try await store.nodeEnvironments(model: model, env: env)
        guard !nodes.isEmpty, version > 0 else { return [] }
        let environment = try await store.versionLineage(model: model, version: version).environment
        guard !environment.isEmpty else { return [] }
        let name = "\(model):\(version) " + (environment.requirementsFile ?? "requirements.txt")
        return nodes.flatMap { node in
            node.environment.failures(requirementsText: environment.requirementsText, requirementsName: name, image: environment.image).map { "node \(node.node): \($0)" }
        }
    }

    /// `incompatibilities` of a deploy's promotion request.
    static func incompatibilities(_ store: any NodeStore & LineageStore, request: PromotionRequestInfo) async throws -> [String] {
        try await incompatibilities(store, model: request.model, env: try AliasName(request.alias), version: request.version)
    }
}
