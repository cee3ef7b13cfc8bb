import Foundation
import Hummingbird
import VesselCore
import VesselMetadata

/// The audit timeline and promotion requests.
extension UIController {
    func registerGovernancePages(_ routes: UIRoutes) {
        // Registry-wide like `GET /api/v1/audit` (admin); a model's like `…/audit` (maintain).
        routes.on(.get, "/ui/audit", .admin) { request, _, ui in try await auditPage(request, ui, model: nil) }
        routes.on(.get, "/ui/models/:owner/:name/audit", .maintain) { request, context, ui in
            try await auditPage(request, ui, model: try Self.model(context))
        }
        routes.on(.post, "/ui/audit/verify", .admin) { request, _, ui in
            let verification = try await store.verifyAuditChain()
            return try await auditPage(request, ui, model: nil, verification: verification)
        }
        // Like the API's `/api/v1/requests`, deciding checks the caller's role on the request's model inside the decision.
        routes.on(.get, "/ui/requests", .authenticated) { _, _, ui in try await requestsPage(ui) }
        for (verb, approve) in [("approve", true), ("reject", false)] {
            routes.on(.post, "/ui/requests/:id/\(verb)", .authenticated) { _, context, ui in
                let caller = try ui.requireCaller()
                let id = try context.parameters.require("id")
                let store = store, principal = caller.principal.name
                let reason = ui.form["reason"].flatMap { $0.isEmpty ? nil : $0 }
                // Judged like the API's approval; forcing past an incompatible environment is the CLI's.
                let result = try await store.decide(requestID: id, approve: approve, role: { model in
                    try await store.role(of: principal, on: model)
                }, environment: { try await DeploymentController.incompatibilities(store, request: $0) }, forceIncompatible: false,
                   change: caller.change(reason: reason))
                let failed = result.status == .refused && !(result.failures.count == 1 && result.failures[0].rule == "approval" && !approve)
                let text = failed
                    ? "Request \(id) was not \(approve ? "approved" : "rejected"): " + result.failures.map(\.message).joined(separator: "; ")
                    : "Request \(id): \(approve ? "approved" : "rejected") (\(result.model)@\(result.alias) → version \(result.version), \(result.status.rawValue))."
                return try await requestsPage(ui, result: text, failed: failed, status: failed ? .forbidden : .ok)
            }
        }
    }

    /// One page of the audit chain in sequence order, filtered in the store's query by model,
    /// actor and action (`deployment` keeps every `deployment.*`); `fixed` is the model's own view.
    func auditPage(_ request: Request, _ ui: UIRequest, model fixed: ModelName?, verification: AuditVerification? = nil) async throws -> Response {
        let caller = try ui.requireCaller()
        let query = request.uri.queryParameters
        let modelText = query.get("model").map { String($0) }?.trimmingCharacters(in: .whitespaces) ?? ""
        let actor = query.get("actor").map { String($0) }?.trimmingCharacters(in: .whitespaces) ?? ""
        let action = query.get("action").map { String($0) }?.trimmingCharacters(in: .whitespaces) ?? ""
        let model = try fixed ?? (modelText.isEmpty ? nil : ModelName(modelText))
        // The filters go into the query: a page holds the next 50 matching entries (`AuditFilter`).
        let listing = try await store.auditEntries(AuditFilter(model: model, actor: actor, action: action, newestFirst: true), limit: Self.pageSize, cursor: Query.cursor(request))
        let entries = listing.items.map(AuditEntryInfo.init)
        let base = fixed.map { "/ui/models/\($0)/audit" } ?? "/ui/audit"
        var values: [String: Any] = [
            "scope": fixed?.description ?? false, "action": base, "fixedModel": fixed != nil, "model": modelText, "actor": actor, "filterAction": action,
            "admin": caller.role == .admin && fixed == nil,
            "entries": entries.map { entry -> [String: Any] in [
                "seq": entry.seq, "time": entry.time, "actor": entry.actor, "action": entry.action, "target": entry.target,
                "before": entry.before ?? "–", "after": entry.after ?? "–", "reason": entry.reason ?? "",
            ] },
            "next": listing.nextCursor.map { "\(base)?cursor=\(UIPage.query($0))&model=\(UIPage.query(modelText))&actor=\(UIPage.query(actor))&action=\(UIPage.query(action))" } ?? false,
            "verification": false,
        ]
        if let verification {
            values["verification"] = [
                "ok": verification.ok,
                "text": verification.ok
                    ? "The chain verified: \(verification.entries) entries, every hash links to the one before."
                    : "The chain is broken at entry \(verification.brokenAt.map { String($0) } ?? "?"): \(verification.reason ?? "hash mismatch").",
            ] as [String: Any]
        }
        return page(ui).response("audit", title: "Audit", values)
    }

    /// The promotion requests of the models the caller may read, newest first, with Approve and
    /// Reject on pending ones the caller's role could decide.
    func requestsPage(_ ui: UIRequest, result: String? = nil, failed: Bool = false, status: HTTPResponse.Status = .ok) async throws -> Response {
        let caller = try ui.requireCaller()
        let principal = caller.principal.name
        let protections = try await store.protections()
        var roles: [ModelName: Role?] = [:]
        var items: [[String: Any]] = []
        for request in try await store.promotionRequests(model: nil).sorted(by: { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }) {
            if roles[request.model] == nil { roles[request.model] = .some(try await store.role(of: principal, on: request.model)) }
            guard let role = roles[request.model] ?? nil else { continue }
            let scopes = Scope.covering(request.model).map(\.description)
            let needed = scopes.lazy.compactMap { scope in protections.first { $0.scope == scope && $0.alias == request.alias } }.first?.role ?? .contributor
            let decided = request.decidedBy.map { "\(request.status) by \($0)" + (request.decisionReason.map { ": \($0)" } ?? "") }
            items.append([
                "id": request.id, "model": request.model.description, "modelHref": "/ui/models/\(request.model)", "kind": request.kind,
                "alias": request.alias, "version": request.version, "status": request.status, "created": request.createdAt,
                "by": request.requestedBy, "reason": request.reason ?? "", "decided": decided ?? false,
                "canDecide": request.status == "pending" && role >= needed,
            ])
        }
        return page(ui).response("requests", title: "Requests", ["items": items, "result": result ?? false, "failed": failed], status: status)
    }
}
