import Foundation
import Hummingbird
import VesselCore
import VesselMetadata

/// The models list, a model, a version.
extension UIController {
    static let pageSize = 50

    func registerModelPages(_ routes: UIRoutes) {
        // Like `GET /api/v1/models`: any signed-in principal, each seeing the models its grants cover.
        routes.on(.get, "/ui/models", .authenticated) { request, _, ui in try await modelsPage(request, ui) }
        routes.on(.get, "/ui/models/:owner/:name", .read) { request, context, ui in try await modelPage(request, context, ui) }
        routes.on(.get, "/ui/models/:owner/:name/versions/:version", .read) { _, context, ui in try await versionPage(context, ui) }
    }

    /// One page of the models the caller may read, searched like `GET /api/v1/models`:
    /// `q` is a substring of `owner/name` or the description, `tag` an exact tag (docs/search.md).
    func modelsPage(_ request: Request, _ ui: UIRequest) async throws -> Response {
        let caller = try ui.requireCaller()
        let q = request.uri.queryParameters.get("q").map { String($0) }?.trimmingCharacters(in: .whitespaces) ?? ""
        let tag = request.uri.queryParameters.get("tag").map { String($0) }?.trimmingCharacters(in: .whitespaces) ?? ""
        let query = try ModelQuery.parse { name in
            switch name {
            case "search": q.isEmpty ? [] : [q]
            case "tag": tag.isEmpty ? [] : [tag]
            default: []
            }
        }
        let readable = try await store.readableScopes(of: caller.principal.name)
        let listing = try await store.listModels(readable: readable, query: query, limit: Self.pageSize, cursor: Query.cursor(request))
        let items: [[String: Any]] = listing.items.map { model in [
            "model": model.model.description, "href": "/ui/models/\(model.model)", "description": model.description,
            "tags": model.tags, "versions": model.versions, "latest": model.latestVersion.map { String($0) } ?? "none",
        ] }
        var next: Any = false
        if let cursor = listing.nextCursor {
            next = "/ui/models?cursor=\(UIPage.query(cursor))&q=\(UIPage.query(q))&tag=\(UIPage.query(tag))"
        }
        return page(ui).response("models", title: "Models", [
            "items": items, "q": q, "tag": tag, "filtered": !q.isEmpty || !tag.isEmpty, "next": next,
            "caption": "\(items.count) model(s) on this page",
        ])
    }

    func modelPage(_ request: Request, _ context: AppContext, _ ui: UIRequest) async throws -> Response {
        let caller = try ui.requireCaller()
        let name = try Self.model(context)
        let model = try await store.model(name)
        let versions = try await store.listVersions(model: name, filter: VersionFilter(), limit: Self.pageSize, cursor: Query.cursor(request))
        let aliases = try await store.aliases(model: name)
        let readable = try await store.readableScopes(of: caller.principal.name)
        let deployments = try await store.listDeployments(readable: readable, model: name, env: nil, limit: Self.pageSize, cursor: nil)
        let admin = try await modelAdminValues(name, caller)
        return page(ui).response("model", title: name.description, admin.merging([
            "model": name.description, "owner": name.owner, "description": model.description, "tags": model.tags,
            "versions": versions.items.map { version -> [String: Any] in [
                "version": version.version, "href": "/ui/models/\(name)/versions/\(version.version)", "state": version.state.rawValue,
                "size": UIPage.bytes(version.size), "files": version.files,
                "parameters": version.summary.map { UIPage.count($0.parameters) } ?? "–",
                "dtypes": version.summary.map { $0.dtypes.keys.sorted().joined(separator: ", ") } ?? "–",
                "aliases": version.aliases, "created": version.createdAt, "by": version.createdBy,
            ] },
            "next": versions.nextCursor.map { "/ui/models/\(name)?cursor=\(UIPage.query($0))" } ?? false,
            "aliases": aliases.map { alias -> [String: Any] in [
                "alias": alias.alias, "version": alias.version, "href": "/ui/models/\(name)/versions/\(alias.version)",
                "updated": alias.updatedAt, "by": alias.updatedBy,
            ] },
            "deployments": deployments.items.map(Self.deploymentRow),
            "maintainer": (caller.role ?? .viewer) >= .maintainer, "audit": "/ui/models/\(name)/audit",
        ]) { _, page in page })
    }

    func versionPage(_ context: AppContext, _ ui: UIRequest) async throws -> Response {
        let name = try Self.model(context)
        guard let number = Int(try context.parameters.require("version")), number > 0 else {
            throw VesselError.notFound("versions are numbered 1, 2, …")
        }
        let version = try await store.resolve(Reference(model: name, selector: .version(number)))
        var values: [String: Any] = [
            "model": name.description, "modelHref": "/ui/models/\(name)", "version": number, "state": version.state.rawValue,
            "digest": version.digest.description, "size": UIPage.bytes(version.size), "files": version.files,
            "created": version.createdAt, "by": version.createdBy, "aliases": version.aliases, "description": version.description,
            "pull": "vessel pull \(name):\(number) ./\(name.name)",
            "findings": version.findings.map { "\($0.validator) \($0.code): \($0.message)" },
            "manifest": (version.manifest ?? []).map { entry -> [String: Any] in
                ["path": entry.path, "size": UIPage.bytes(entry.size), "digest": entry.digest.description]
            },
            "scan": (version.scan ?? []).map { file -> [String: Any] in [
                "path": file.path, "format": file.format, "verdict": file.verdict,
                "findings": file.findings.map { ["severity": $0.severity, "kind": $0.kind, "detail": $0.detail] },
            ] },
            "signatures": (version.signatures ?? []).map { signature -> [String: Any] in [
                "id": signature.id, "key": signature.keyHint,
                "trusted": signature.status == .trusted ? "yes (\(signature.keyName ?? "trusted key"))" : "no: no trusted key verified it",
                "added": "\(signature.signedAt) by \(signature.signedBy)",
            ] },
            "summary": false,
        ]
        if let summary = version.summary {
            values["summary"] = [
                "parameters": UIPage.count(summary.parameters), "tensors": summary.tensorCount, "shards": summary.shardCount,
                "bytes": UIPage.bytes(summary.tensorBytes),
                "dtypes": summary.dtypes.keys.sorted().map { key -> [String: Any] in
                    let totals = summary.dtypes[key]
                    return ["dtype": key, "parameters": UIPage.count(totals?.parameters ?? 0), "bytes": UIPage.bytes(totals?.bytes ?? 0)]
                },
            ] as [String: Any]
        }
        values.merge(try await versionProvenanceValues(name, number, try ui.requireCaller())) { page, _ in page }
        return page(ui).response("version", title: "\(name):\(number)", values)
    }

    static func model(_ context: AppContext) throws -> ModelName {
        guard let model = try APIRoutes.model(from: context) else { throw VesselError.invalidArgument("the route names no model") }
        return model
    }

    static func deploymentRow(_ deployment: DeploymentInfo) -> [String: Any] {
        let live = deployment.slots[deployment.live]
        let candidate = deployment.slots[deployment.live.other]
        return [
            "model": deployment.model.description, "modelHref": "/ui/models/\(deployment.model)", "env": deployment.env,
            "status": deployment.status.rawValue, "revision": deployment.revision,
            "live": live.map { "\(deployment.live.rawValue): version \($0.version)" } ?? "\(deployment.live.rawValue): empty",
            "candidate": candidate.map { "\(deployment.live.other.rawValue): version \($0.version)" } ?? "none",
            "weight": deployment.candidateWeight,
        ]
    }
}

extension UIRequest {
    /// The signed-in caller of a route that is not anonymous.
    func requireCaller() throws -> Caller {
        guard let caller else { throw VesselError.unauthenticated("sign in first") }
        return caller
    }
}
