import Hummingbird
import VesselCore
import VesselMetadata

/// Nodes and drift (issue 24, docs/deployments.md "Nodes and drift"): agents report what they
/// serve, maintainers add the endpoints the registry polls, and anyone who may read the
/// deployment reads every node's drift. Kept apart from `DeploymentController.document` (the
/// routing document that long-polls share), so following a deployment costs no node reads.
struct NodeController {
    let store: any NodeStore
    /// Where endpoints may point (the webhook destination policy, `--webhook-allow`).
    let policy: DestinationPolicy

    static let reportPath = "/api/v1/models/:owner/:name/deployments/:env/nodes/:node"

    func register(_ routes: APIRoutes) {
        // A report is node state, not a registry change: the viewer role, no audit entry, no
        // event, and it leaves the read cache alone (`isNodeReport`).
        routes.on(.put, Self.reportPath, .read) { request, context, caller in
            let body = try await JSONResponse.decode(NodeReportRequest.self, from: request, context: context)
            let node = try context.parameters.require("node")
            return try JSONResponse.make(try await store.reportNode(model: try model(context), env: try env(context), node: node, body, principal: caller.principal.name))
        }
        routes.on(.get, "/api/v1/models/:owner/:name/deployments/:env/nodes", .read) { _, context, _ in
            try JSONResponse.make(Page(items: try await store.nodes(model: try model(context), env: try env(context)), nextCursor: nil))
        }
        routes.on(.post, "/api/v1/models/:owner/:name/deployments/:env/endpoints", .maintain) { request, context, caller in
            let body = try await JSONResponse.decode(AddEndpointRequest.self, from: request, context: context)
            let slot = try body.slot.map { text throws(VesselError) in try NodeSlot(parsing: text) } ?? .live
            _ = try await policy.check(body.url, subject: "endpoint")
            let info = try await store.addEndpoint(model: try model(context), env: try env(context), url: body.url, slot: slot, change: caller.change)
            return try JSONResponse.make(info, status: .created)
        }
        routes.on(.get, "/api/v1/models/:owner/:name/deployments/:env/endpoints", .read) { _, context, _ in
            try JSONResponse.make(Page(items: try await store.endpoints(model: try model(context), env: try env(context)), nextCursor: nil))
        }
        routes.on(.delete, "/api/v1/models/:owner/:name/deployments/:env/endpoints", .maintain) { request, context, caller in
            guard let url = request.uri.queryParameters.get("url"), !url.isEmpty else {
                throw VesselError.invalidArgument("name the endpoint to remove: ?url=URL")
            }
            try await store.removeEndpoint(model: try model(context), env: try env(context), url: url, change: caller.change)
            return Response(status: .noContent)
        }
    }

    /// Whether `request` is a node report (`PUT …/deployments/:env/nodes/:node`), which
    /// `WriteNotifyMiddleware` does not treat as a write: a fleet reporting every 10 s would
    /// otherwise clear the read cache many times a second.
    static func isNodeReport(_ request: Request) -> Bool {
        guard request.method == .put else { return false }
        let parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: false)
        // "", api, v1, models, owner, name, deployments, env, nodes, node
        return parts.count == 10 && parts[1] == "api" && parts[2] == "v1" && parts[3] == "models" && parts[6] == "deployments" && parts[8] == "nodes"
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
