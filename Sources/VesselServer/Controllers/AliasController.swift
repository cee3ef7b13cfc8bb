import Hummingbird
import VesselCore
import VesselMetadata

/// Aliases and promotion. Every move goes through the governance rules: a protected alias
/// checks role, approval and gates in the transaction that moves it.
struct AliasController {
    let store: any AliasStore & VersionStore & GovernanceStore

    func register(_ routes: APIRoutes) {
        routes.on(.get, "/api/v1/models/:owner/:name/aliases", .read) { request, context, _ in
            try JSONResponse.make(try ListPaging.page(try await store.aliases(model: try model(context)), request) { $0.alias })
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
            let model = try model(context), alias = try alias(context)
            guard body.version > 0 else { throw VesselError.invalidArgument("version must be a positive integer") }
            let attempt = PromotionAttempt(model: model, alias: alias, version: body.version, expectCurrent: body.expectCurrent, expectAbsent: body.expectAbsent ?? false, mode: .set, role: caller.role)
            try Self.requireApplied(try await store.promote(attempt, change: caller.change(reason: body.reason)))
            guard let info = try await store.aliases(model: model).first(where: { $0.alias == alias.value }) else {
                throw VesselError.conflict("alias '\(alias)' was removed meanwhile")
            }
            return try JSONResponse.make(info)
        }
        routes.on(.delete, "/api/v1/models/:owner/:name/aliases/:alias", .write) { _, context, caller in
            let attempt = PromotionAttempt(model: try model(context), alias: try alias(context), version: 0, mode: .remove, role: caller.role)
            try Self.requireApplied(try await store.promote(attempt, change: caller.change))
            return Response(status: .noContent)
        }
        routes.on(.post, "/api/v1/models/:owner/:name/promote", .write) { request, context, caller in
            let body = try await JSONResponse.decode(PromoteRequest.self, from: request, context: context)
            guard body.version > 0 else { throw VesselError.invalidArgument("version must be a positive integer") }
            let attempt = PromotionAttempt(model: try model(context), alias: try AliasName(body.to), version: body.version, expectCurrent: body.expectCurrent, expectAbsent: body.expectAbsent ?? false, mode: .promote, role: caller.role)
            let result = try await store.promote(attempt, change: caller.change(reason: body.reason))
            return try JSONResponse.make(result, status: result.status == .pending ? .accepted : .ok)
        }
    }

    /// `alias set`/`alias rm` answer with an error when a rule refused: `precondition_failed`
    /// when only the expectation failed, `forbidden` when only the role did, else `refused`.
    static func requireApplied(_ result: PromotionResult) throws {
        guard result.status != .applied else { return }
        let rules = Set(result.failures.map(\.rule))
        let message = result.failures.map { "\($0.rule): \($0.message)" }.joined(separator: "; ")
        let code: ErrorCode = rules == ["expect-current"] ? .preconditionFailed : rules == ["role"] ? .forbidden : .refused
        throw VesselError(code, message, details: result.failures.map { "\($0.rule): \($0.message)" })
    }

    private func model(_ context: AppContext) throws -> ModelName {
        guard let model = try APIRoutes.model(from: context) else { throw VesselError.invalidArgument("the route names no model") }
        return model
    }

    private func alias(_ context: AppContext) throws -> AliasName {
        try AliasName(try context.parameters.require("alias"))
    }
}
