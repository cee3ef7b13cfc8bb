import Hummingbird
import VesselCore
import VesselFormats
import VesselMetadata

/// Principals, tokens, the audit log, and who-am-I.
struct AdminController {
    let store: any PrincipalStore & TokenStore & AuditLog & FormatPolicyStore & CertificateSubjectStore
    let clock: @Sendable () -> Int64

    func register(_ routes: APIRoutes) {
        routes.on(.get, "/api/v1/whoami", .authenticated) { _, _, caller in
            try JSONResponse.make(WhoAmI(principal: caller.principal.name, kind: caller.principal.kind))
        }
        routes.on(.get, "/api/v1/principals", .admin) { request, _, _ in
            try JSONResponse.make(try ListPaging.page(try await store.listPrincipals(), request) { $0.name })
        }
        routes.on(.post, "/api/v1/principals", .admin) { request, context, caller in
            let body = try await JSONResponse.decode(CreatePrincipalRequest.self, from: request, context: context)
            if let subjects = body.certSubjects, !subjects.isEmpty {
                return try JSONResponse.make(try await store.createPrincipal(name: body.name, kind: body.kind, certificateSubjects: subjects, change: caller.change), status: .created)
            }
            return try JSONResponse.make(try await store.createPrincipal(name: body.name, kind: body.kind, change: caller.change), status: .created)
        }
        routes.on(.get, "/api/v1/tokens", .admin) { request, _, _ in
            try JSONResponse.make(try ListPaging.page(try await store.listTokens(), request) { ListPaging.key($0.createdAt, $0.id) })
        }
        routes.on(.post, "/api/v1/tokens", .admin) { request, context, caller in
            let body = try await JSONResponse.decode(CreateTokenRequest.self, from: request, context: context)
            // At most 100 years: a larger count overflowed the microsecond expiry and crashed the server.
            if let seconds = body.expiresInSeconds, seconds <= 0 || seconds > 3_155_760_000 {
                throw VesselError.invalidArgument("expires_in_seconds must be positive and at most 3155760000 (100 years)")
            }
            let token = Tokens.generate()
            let expiresAt = body.expiresInSeconds.map { clock() + $0 * 1_000_000 }
            let info = try await store.createToken(principal: body.principal, name: body.name, hash: Tokens.hash(token), expiresAt: expiresAt, change: caller.change)
            return try JSONResponse.make(CreatedToken(id: info.id, token: token, principal: info.principal, expiresAt: info.expiresAt), status: .created)
        }
        routes.on(.delete, "/api/v1/tokens/:id", .admin) { _, context, caller in
            try await store.revokeToken(id: try context.parameters.require("id"), change: caller.change)
            return Response(status: .noContent)
        }
        routes.on(.get, "/api/v1/audit", .admin) { request, _, _ in
            let model = try request.uri.queryParameters.get("model").map { try ModelName(String($0)) }
            let page = try await store.auditEntries(Query.auditFilter(request, model: model), limit: Query.limit(request), cursor: Query.cursor(request))
            return try JSONResponse.make(Page(items: page.items.map(AuditEntryInfo.init), nextCursor: page.nextCursor))
        }
        routes.on(.get, "/api/v1/policies", .read) { request, _, _ in
            try JSONResponse.make(try ListPaging.page(try await store.formatPolicies(), request) { $0.scope })
        }
        routes.on(.put, "/api/v1/policies", .admin) { request, context, caller in
            let body = try await JSONResponse.decode(FormatPolicyRequest.self, from: request, context: context)
            guard ScanFormatPolicy(names: body.formats) != nil else {
                throw VesselError.invalidArgument("formats must be a non-empty list of: \(ScanFormatPolicy.familyNames)")
            }
            return try JSONResponse.make(try await store.setFormatPolicy(scope: try Scope(body.scope), formats: body.formats, change: caller.change))
        }
        routes.on(.get, "/api/v1/audit/verify", .admin) { _, _, _ in
            try JSONResponse.make(try await store.verifyAuditChain())
        }
    }
}

extension AuditEntryInfo {
    init(_ entry: AuditEntry) {
        self.init(seq: entry.seq, time: Timestamp.rfc3339(micros: entry.at), actor: entry.actor, action: entry.action, target: entry.target, model: entry.model, before: entry.before, after: entry.after, requestID: entry.requestID, reason: entry.reason, prevHash: entry.prevHash, hash: entry.hash,
                  credential: entry.credential, clientAddress: entry.clientAddress)
    }
}
