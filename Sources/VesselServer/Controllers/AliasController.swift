import Hummingbird
import VesselCore
import VesselMetadata

/// Aliases and promotion.
struct AliasController {
    let store: any MetadataStore

    func register(_ routes: APIRoutes) {
        routes.on(.get, "/api/v1/models/:owner/:name/aliases", .read) { _, context, _ in
            try JSONResponse.make(Page(items: try await store.aliases(model: try model(context)), nextCursor: nil))
        }
        routes.on(.get, "/api/v1/models/:owner/:name/aliases/:alias", .read) { _, context, _ in
            let name = try alias(context)
            guard let info = try await store.aliases(model: try model(context)).first(where: { $0.alias == name.value }) else {
                throw VesselError.notFound("alias '\(name)' of model '\(try model(context))' does not exist")
            }
            return try JSONResponse.make(info)
        }
        routes.on(.get, "/api/v1/models/:owner/:name/aliases/:alias/version", .read) { _, context, _ in
            try JSONResponse.make(try await store.resolve(Reference(model: try model(context), selector: .alias(try alias(context)))))
        }
        routes.on(.put, "/api/v1/models/:owner/:name/aliases/:alias", .write) { request, context, caller in
            let body = try await JSONResponse.decode(SetAliasRequest.self, from: request, context: context)
            return try JSONResponse.make(try await set(model: try model(context), alias: try alias(context), body, caller))
        }
        routes.on(.delete, "/api/v1/models/:owner/:name/aliases/:alias", .write) { _, context, caller in
            try await store.removeAlias(model: try model(context), alias: try alias(context), change: caller.change)
            return Response(status: .noContent)
        }
        routes.on(.post, "/api/v1/models/:owner/:name/promote", .write) { request, context, caller in
            let body = try await JSONResponse.decode(PromoteRequest.self, from: request, context: context)
            let request = SetAliasRequest(version: body.version, expectCurrent: body.expectCurrent, expectAbsent: body.expectAbsent, reason: body.reason)
            return try JSONResponse.make(try await set(model: try model(context), alias: try AliasName(body.to), request, caller))
        }
    }

    private func set(model: ModelName, alias: AliasName, _ body: SetAliasRequest, _ caller: Caller) async throws -> AliasInfo {
        guard body.version > 0 else { throw VesselError.invalidArgument("version must be a positive integer") }
        return try await store.setAlias(model: model, alias: alias, version: body.version, expectCurrent: body.expectCurrent, expectAbsent: body.expectAbsent ?? false, change: caller.change)
    }

    private func model(_ context: AppContext) throws -> ModelName {
        guard let model = try APIRoutes.model(from: context) else { throw VesselError.invalidArgument("the route names no model") }
        return model
    }

    private func alias(_ context: AppContext) throws -> AliasName {
        try AliasName(try context.parameters.require("alias"))
    }
}

