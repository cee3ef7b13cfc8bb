import Hummingbird
import VesselCore
import VesselMetadata

/// Retention policies (`vessel retention`), holds (`vessel hold`) and the lifecycle job on
/// demand (`vessel gc`); docs/retention.md.
struct RetentionController {
    let store: SQLMetadataStore
    let collector: GarbageCollector

    func register(_ routes: APIRoutes) {
        routes.on(.get, "/api/v1/retention", .read) { request, _, _ in
            try JSONResponse.make(try ListPaging.page(try await store.retentionPolicies(), request) { $0.scope })
        }
        routes.on(.put, "/api/v1/retention", .admin) { request, context, caller in
            let body = try await JSONResponse.decode(RetentionPolicyRequest.self, from: request, context: context)
            let (scope, policy) = try body.validated()
            return try JSONResponse.make(try await store.setRetentionPolicy(scope: scope, policy: policy, change: caller.change))
        }
        routes.on(.delete, "/api/v1/retention", .admin) { request, _, caller in
            guard let text = request.uri.queryParameters.get("scope") else { throw VesselError.invalidArgument("scope is required: ?scope=owner/name, owner/* or *") }
            try await store.removeRetentionPolicy(scope: try Scope(text), change: caller.change)
            return Response(status: .noContent)
        }
        routes.on(.get, "/api/v1/holds", .read) { request, _, _ in
            try JSONResponse.make(try ListPaging.page(try await store.holds(), request) { ListPaging.key($0.model, String(format: "%012d", $0.version)) })
        }
        routes.on(.put, "/api/v1/models/:owner/:name/versions/:version/hold", .maintain) { request, context, caller in
            let body = try await JSONResponse.decode(HoldRequest.self, from: request, context: context)
            let reason = body.reason.trimmingCharacters(in: .whitespaces)
            guard !reason.isEmpty, reason.count <= 1000 else { throw VesselError.invalidArgument("a hold needs a reason (--reason) of at most 1000 characters") }
            return try JSONResponse.make(try await store.hold(model: try model(context), version: try version(context), reason: reason, change: caller.change))
        }
        routes.on(.delete, "/api/v1/models/:owner/:name/versions/:version/hold", .maintain) { _, context, caller in
            try await store.unhold(model: try model(context), version: try version(context), change: caller.change)
            return Response(status: .noContent)
        }
        routes.on(.post, "/api/v1/admin/gc", .admin) { request, context, _ in
            let body = try await JSONResponse.decode(GCRequest.self, from: request, context: context)
            return try JSONResponse.make(try await collector.run(dryRun: body.dryRun))
        }
        routes.on(.get, "/api/v1/admin/gc", .admin) { request, _, _ in
            try JSONResponse.make(Page(items: try await store.gcRuns(limit: min(try Query.limit(request), 100)), nextCursor: nil))
        }
    }

    func model(_ context: AppContext) throws -> ModelName {
        guard let model = try APIRoutes.model(from: context) else { throw VesselError.invalidArgument("the route names no model") }
        return model
    }

    func version(_ context: AppContext) throws -> Int {
        try Reference.parseVersion(try context.parameters.require("version"))
    }
}
