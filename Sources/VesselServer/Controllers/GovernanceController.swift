import Foundation
import Hummingbird
import VesselCore
import VesselMetadata

/// Grants, protections, promotion requests, checks, alias history.
struct GovernanceController {
    let store: any GovernanceStore & GrantStore & AuditLog & NodeStore & LineageStore
    let cache: HotReadCache

    func register(_ routes: APIRoutes) {
        routes.on(.get, "/api/v1/grants", .admin) { request, _, _ in
            try JSONResponse.make(try ListPaging.page(try await store.grants(principal: request.uri.queryParameters.get("principal")), request) { ListPaging.key($0.principal, $0.scope, $0.role.rawValue) })
        }
        routes.on(.post, "/api/v1/grants", .admin) { request, context, caller in
            let body = try await JSONResponse.decode(GrantRequest.self, from: request, context: context)
            return try JSONResponse.make(try await store.grant(principal: body.principal, role: body.role, scope: try Scope(body.scope), change: caller.change), status: .created)
        }
        routes.on(.post, "/api/v1/grants/revoke", .admin) { request, context, caller in
            let body = try await JSONResponse.decode(GrantRequest.self, from: request, context: context)
            try await store.revoke(principal: body.principal, role: body.role, scope: try Scope(body.scope), change: caller.change)
            return Response(status: .noContent)
        }
        routes.on(.get, "/api/v1/protections", .authenticated) { request, _, _ in
            try JSONResponse.make(try ListPaging.page(try await store.protections(), request) { ListPaging.key($0.scope, $0.alias) })
        }
        routes.on(.put, "/api/v1/protections", .admin) { request, context, caller in
            let body = try await JSONResponse.decode(ProtectRequest.self, from: request, context: context)
            return try JSONResponse.make(try await store.protect(body, change: caller.change))
        }
        routes.on(.post, "/api/v1/protections/remove", .admin) { request, context, caller in
            let body = try await JSONResponse.decode(UnprotectRequest.self, from: request, context: context)
            try await store.unprotect(scope: try Scope(body.scope), alias: try AliasName(body.alias), change: caller.change)
            return Response(status: .noContent)
        }
        routes.on(.get, "/api/v1/requests", .admin) { request, _, _ in
            try JSONResponse.make(try ListPaging.page(try await store.promotionRequests(model: nil), request, descending: true) { ListPaging.key($0.createdAt, $0.id) })
        }
        routes.on(.get, "/api/v1/models/:owner/:name/requests", .read) { request, context, _ in
            try JSONResponse.make(try ListPaging.page(try await store.promotionRequests(model: try requireModel(context)), request, descending: true) { ListPaging.key($0.createdAt, $0.id) })
        }
        // Deciding checks the caller's role on the request's model inside the decision.
        for (verb, approve) in [("approve", true), ("reject", false)] {
            routes.on(.post, "/api/v1/requests/:id/\(verb)", .authenticated) { request, context, caller in
                let body = try await JSONResponse.decode(DecisionRequest.self, from: request, context: context)
                let store = store, principal = caller.principal.name
                let result = try await store.decide(requestID: try context.parameters.require("id"), approve: approve, role: { model in
                    try await store.role(of: principal, on: model)
                }, environment: { try await DeploymentController.incompatibilities(store, request: $0) }, forceIncompatible: body.forceIncompatible == true,
                   change: caller.change(reason: body.reason))
                return try JSONResponse.make(result)
            }
        }
        routes.on(.post, "/api/v1/models/:owner/:name/versions/:version/checks", .write) { request, context, caller in
            let body = try await JSONResponse.decode(CheckReportRequest.self, from: request, context: context)
            let version = try Reference.parseVersion(try context.parameters.require("version"))
            return try JSONResponse.make(try await store.reportCheck(model: try requireModel(context), version: version, body, change: caller.change), status: .created)
        }
        routes.on(.get, "/api/v1/models/:owner/:name/aliases/:alias/history", .read) { request, context, _ in
            let alias = try AliasName(try context.parameters.require("alias"))
            return try JSONResponse.make(try ListPaging.page(try await store.aliasHistory(model: try requireModel(context), alias: alias), request) { String(format: "%020lld", $0.seq) })
        }
        routes.on(.get, "/api/v1/models/:owner/:name/aliases/:alias/resolve", .read) { request, context, _ in
            let alias = try AliasName(try context.parameters.require("alias"))
            var at: Int64?
            if let text = request.uri.queryParameters.get("at") {
                guard let date = Timestamp.parse(String(text)) else { throw VesselError.invalidArgument("at must be an RFC 3339 time such as 2026-11-29T08:00:00Z") }
                at = Timestamp.micros(date)
            }
            let model = try requireModel(context)
            guard let at else {
                return JSONResponse.make(body: try await cache.alias(model, alias) { try await store.resolveAlias(model: model, alias: alias, at: nil) }.json)
            }
            return try JSONResponse.make(try await store.resolveAlias(model: model, alias: alias, at: at))
        }
        routes.on(.get, "/api/v1/models/:owner/:name/audit", .maintain) { request, context, _ in
            let page = try await store.auditEntries(Query.auditFilter(request, model: try requireModel(context)), limit: Query.limit(request), cursor: Query.cursor(request))
            return try JSONResponse.make(Page(items: page.items.map(AuditEntryInfo.init), nextCursor: page.nextCursor))
        }
    }

    func requireModel(_ context: AppContext) throws -> ModelName {
        guard let model = try APIRoutes.model(from: context) else { throw VesselError.invalidArgument("the route names no model") }
        return model
    }
}

/// `POST /api/v1/protections/remove`.
struct UnprotectRequest: Codable, Sendable {
    var scope: String
    var alias: String
}
