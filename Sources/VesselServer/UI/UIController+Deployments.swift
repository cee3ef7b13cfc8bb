import Foundation
import Hummingbird
import VesselCore
import VesselMetadata

/// Deployments: the list, one deployment's page (traffic, canary steps, nodes and drift, Roll
/// back) and its long-poll, which keeps the page current through `rollout.js`.
extension UIController {
    /// How long the deployment page's long-poll waits for a change before it answers the
    /// current state anyway (which refreshes the nodes, whose reports bump no revision).
    static let watchWait: Duration = .seconds(25)

    func registerDeploymentPages(_ routes: UIRoutes) {
        // Like `GET /api/v1/deployments`: every deployment of a model the caller may read.
        routes.on(.get, "/ui/deployments", .authenticated) { request, _, ui in try await deploymentsPage(request, ui) }
        // Like `GET /api/v1/models/:owner/:name/deployments/:env` and its `…/nodes`: read on the model.
        routes.on(.get, "/ui/models/:owner/:name/deployments/:env", .read) { _, context, ui in
            try await deploymentPage(ui, model: try Self.model(context), env: try Self.env(context))
        }
        // The page's long-poll, with the session: like the API's `?wait=&after=`, woken by
        // `DeploymentWatch`; answers the `#live` part of the page.
        routes.on(.get, "/ui/models/:owner/:name/deployments/:env/watch", .read) { request, context, ui in
            try await watchDeployment(request, ui, model: try Self.model(context), env: try Self.env(context))
        }
        // Like `POST /api/v1/models/:owner/:name/deployments/:env/rollback`: write on the model, and the
        // protection of the environment's name is judged in the store.
        routes.on(.post, "/ui/models/:owner/:name/deployments/:env/rollback", .write) { request, context, ui in
            let caller = try ui.requireCaller()
            let model = try Self.model(context)
            let env = try Self.env(context)
            let attempt = DeploymentAttempt(model: model, env: env, expectRevision: ui.form["revision"].flatMap { Int($0) }, role: caller.role)
            let result = try await store.rollbackDeployment(attempt, change: caller.change(reason: ui.form["reason"].flatMap { $0.isEmpty ? nil : $0 }))
            let failed = result.outcome == .refused
            let text = failed
                ? "\(model) in \(env) was not rolled back: " + result.failures.map(\.message).joined(separator: "; ")
                : "\(model) in \(env): rollback \(result.outcome.rawValue)."
            if ui.form["page"] == "deployment" {
                return try await deploymentPage(ui, model: model, env: env, result: text, failed: failed, status: failed ? .forbidden : .ok)
            }
            return try await deploymentsPage(request, ui, result: text, failed: failed, status: failed ? .forbidden : .ok)
        }
    }

    func deploymentsPage(_ request: Request, _ ui: UIRequest, result: String? = nil, failed: Bool = false, status: HTTPResponse.Status = .ok) async throws -> Response {
        let caller = try ui.requireCaller()
        let readable = try await store.readableScopes(of: caller.principal.name)
        let cursor = request.method == .get ? Query.cursor(request) : nil
        let listing = try await store.listDeployments(readable: readable, model: nil, env: nil, limit: Self.pageSize, cursor: cursor)
        var roles: [ModelName: Role?] = [:]
        var items: [[String: Any]] = []
        for deployment in listing.items {
            if roles[deployment.model] == nil { roles[deployment.model] = .some(try await store.role(of: caller.principal.name, on: deployment.model)) }
            var row = Self.deploymentRow(deployment)
            row["canRollback"] = Self.canRollback(deployment, role: roles[deployment.model] ?? nil)
            items.append(row)
        }
        return page(ui).response("deployments", title: "Deployments", [
            "items": items, "result": result ?? false, "failed": failed,
            "next": listing.nextCursor.map { "/ui/deployments?cursor=\(UIPage.query($0))" } ?? false,
        ], status: status)
    }

    /// One deployment: its `#live` part inside the page, with `rollout.js` and the CSP that lets
    /// it run.
    func deploymentPage(_ ui: UIRequest, model: ModelName, env: AliasName, result: String? = nil, failed: Bool = false,
                        status: HTTPResponse.Status = .ok) async throws -> Response {
        var values = try await liveValues(ui, model: model, env: env)
        values["result"] = result ?? false
        values["failed"] = failed
        values["script"] = assets.rollout.path
        var response = page(ui).response("deployment", title: "\(model) in \(env)", values, status: status)
        response.headers[.contentSecurityPolicy] = UIHeaders.scriptPolicy
        return response
    }

    /// `GET …/deployments/:env/watch?after=REVISION&wait=SECONDS`: the `#live` part as soon as the
    /// deployment's revision passes `after` (at once when it already has), or when `wait`
    /// (25 s by default, at most 60) runs out or the server begins its shutdown — then as it is
    /// now, which refreshes the nodes. The same subscribe-then-read loop as the API's long-poll.
    func watchDeployment(_ request: Request, _ ui: UIRequest, model: ModelName, env: AliasName) async throws -> Response {
        let poll = try LongPoll(request)
        let after = poll?.after ?? Int(request.uri.queryParameters.get("after") ?? "") ?? 0
        let key = DeploymentWatch.Key(model: model.description, env: env.value)
        let watch = deploymentWatch, store = store
        _ = try await ShutdownSignal.wait(upTo: poll?.wait ?? Self.watchWait) {
            let subscription = watch.subscribe(key, after: after)
            defer { subscription.cancel() }
            while true {
                if try await store.deployment(model: model, env: env).revision > after { return true }
                _ = await subscription.wait()
                try Task.checkCancellation()
            }
        }
        let values = try await liveValues(ui, model: model, env: env)
        let html = renderer.render("deploymentLive", values)
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// What the `#live` part shows: traffic by pool, the canary steps, the nodes with their
    /// drift, and the Roll back form for a caller the API would let roll back.
    func liveValues(_ ui: UIRequest, model: ModelName, env: AliasName) async throws -> [String: Any] {
        let caller = try ui.requireCaller()
        let deployment = try await store.deployment(model: model, env: env)
        let nodes = try await store.nodes(model: model, env: env)
        let role = try await store.role(of: caller.principal.name, on: model)
        let weights = Dictionary(deployment.routes.map { ($0.slot, $0.weight) }, uniquingKeysWith: +)
        let pools: [[String: Any]] = DeploymentSlot.allCases.map { slot in [
            "slot": slot.rawValue, "version": deployment.slots[slot].map { "version \($0.version)" } ?? "empty",
            "role": slot == deployment.live ? "live" : (deployment.candidate == slot ? "candidate" : "standby"),
            "weight": weights[slot] ?? 0,
        ] }
        let rolling = deployment.status == .rollingOut
        let steps: [[String: Any]] = deployment.steps.enumerated().map { index, weight in [
            "weight": weight, "current": rolling && index + 1 == deployment.step, "done": rolling && index + 1 < deployment.step,
            "reached": !rolling || index + 1 <= deployment.step,
            "pause": "paused until the next advance",
        ] }
        let stepText: String
        if rolling {
            let next = deployment.step < deployment.steps.count ? "\(deployment.steps[deployment.step])%" : "completion"
            stepText = deployment.step == 0
                ? "Rolling out: the candidate takes no traffic until the first advance (to \(next)): vessel deploy advance \(model) --env \(env)."
                : "Rolling out: step \(deployment.step) of \(deployment.steps.count), the candidate at \(deployment.candidateWeight)%; paused there until vessel deploy advance \(model) --env \(env) moves it to \(next)."
        } else {
            stepText = "No rollout in progress (\(deployment.status.rawValue)); the next one follows these steps."
        }
        var thresholds: [String] = []
        if let rate = deployment.maxErrorRate { thresholds.append("rolls back on its own above an error rate of \(rate)") }
        if let p99 = deployment.maxP99Ms { thresholds.append("above a p99 of \(p99) ms") }
        let nodeRows: [[String: Any]] = nodes.map { node in
            let drifted = (node.drift.map(\.isDrift) ?? false) || (node.desired != nil && node.actual?.digest != node.desired?.digest)
            return [
                "node": node.node, "kind": node.kind.rawValue, "slot": node.slot.rawValue,
                "desired": node.desired.map(Self.nodeVersion) ?? "nothing", "actual": node.actual.map(Self.nodeVersion) ?? "nothing",
                "state": node.reportedState ?? "–", "drift": node.drift?.rawValue ?? (drifted ? "differs" : "not judged yet"),
                "drifted": drifted, "since": node.since ?? false, "lastSeen": node.lastSeen ?? "never", "message": node.message ?? false,
            ]
        }
        let driftCount = nodeRows.filter { $0["drifted"] as? Bool == true }.count
        let canRollback = Self.canRollback(deployment, role: role)
        return [
            "model": model.description, "modelHref": "/ui/models/\(model)", "env": env.value, "revision": deployment.revision,
            "watch": "/ui/models/\(model)/deployments/\(env)/watch",
            "status": deployment.status.rawValue, "live": "\(deployment.live.rawValue)", "updated": deployment.updatedAt, "updatedBy": deployment.updatedBy,
            "pools": pools, "steps": steps, "stepText": stepText, "smoke": deployment.smoke,
            "thresholds": thresholds.isEmpty ? false : "The candidate " + thresholds.joined(separator: ", ") + " (after \(deployment.minRequests) requests).",
            "nodes": nodeRows,
            "driftText": driftCount == 0 ? "Every node serves what its pool holds." : "\(driftCount) of \(nodeRows.count) node(s) do not serve what their pool holds (highlighted).",
            "canRollback": canRollback,
            "rollbackText": (role ?? .viewer) < .contributor
                ? "Rolling back needs the contributor role on \(model) (and the protection of \(env), if any)."
                : "Nothing to roll back: the deployment is \(deployment.status.rawValue).",
            "csrf": ui.csrf,
        ]
    }

    /// Whether the Roll back button is shown: the route's own permission (write, contributor),
    /// and a state the store can roll back. The store still judges the protection.
    static func canRollback(_ deployment: DeploymentInfo, role: Role?) -> Bool {
        (role ?? .viewer) >= .contributor && (deployment.status == .rollingOut || deployment.status == .completed)
    }

    static func nodeVersion(_ version: NodeVersion) -> String {
        version.version.map { "version \($0)" } ?? String(version.digest.description.prefix(19))
    }

    static func env(_ context: AppContext) throws -> AliasName {
        let text = try context.parameters.require("env")
        do {
            return try AliasName(text)
        } catch {
            throw VesselError.invalidArgument("'\(text)' is not a valid environment name")
        }
    }
}
