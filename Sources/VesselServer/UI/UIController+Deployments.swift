import Foundation
import Hummingbird
import VesselCore
import VesselMetadata

/// Deployments and their Rollback button.
extension UIController {
    func registerDeploymentPages(_ routes: UIRoutes) {
        // Like `GET /api/v1/deployments`: every deployment of a model the caller may read.
        routes.on(.get, "/ui/deployments", .authenticated) { request, _, ui in try await deploymentsPage(request, ui) }
        // Like `POST /api/v1/models/:owner/:name/deployments/:env/rollback`: write on the model, and the
        // protection of the environment's name is judged in the store.
        routes.on(.post, "/ui/models/:owner/:name/deployments/:env/rollback", .write) { request, context, ui in
            let caller = try ui.requireCaller()
            let model = try Self.model(context)
            let env = try AliasName(try context.parameters.require("env"))
            let attempt = DeploymentAttempt(model: model, env: env, expectRevision: ui.form["revision"].flatMap { Int($0) }, role: caller.role)
            let result = try await store.rollbackDeployment(attempt, change: caller.change(reason: ui.form["reason"].flatMap { $0.isEmpty ? nil : $0 }))
            let failed = result.outcome == .refused
            let text = failed
                ? "\(model) in \(env) was not rolled back: " + result.failures.map(\.message).joined(separator: "; ")
                : "\(model) in \(env): rollback \(result.outcome.rawValue)."
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
            row["canRollback"] = ((roles[deployment.model] ?? nil) ?? .viewer) >= .contributor
                && (deployment.status == .rollingOut || deployment.status == .completed)
            items.append(row)
        }
        return page(ui).response("deployments", title: "Deployments", [
            "items": items, "result": result ?? false, "failed": failed,
            "next": listing.nextCursor.map { "/ui/deployments?cursor=\(UIPage.query($0))" } ?? false,
        ], status: status)
    }
}
