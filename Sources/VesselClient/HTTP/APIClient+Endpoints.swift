import VesselCore

/// One method per API endpoint.
extension APIClient {
    public func whoami() async throws -> WhoAmI { try await call(.GET, "/api/v1/whoami", as: WhoAmI.self) }

    public func createPrincipal(_ name: String, kind: PrincipalKind, certSubjects: [String] = []) async throws -> PrincipalInfo {
        let body = CreatePrincipalRequest(name: name, kind: kind, certSubjects: certSubjects.isEmpty ? nil : certSubjects)
        return try await call(.POST, "/api/v1/principals", body: body, as: PrincipalInfo.self)
    }

    public func principals() async throws -> [PrincipalInfo] {
        try await all("/api/v1/principals", as: PrincipalInfo.self)
    }

    public func createToken(principal: String, name: String?, expiresInSeconds: Int64?) async throws -> CreatedToken {
        try await call(.POST, "/api/v1/tokens", body: CreateTokenRequest(principal: principal, name: name, expiresInSeconds: expiresInSeconds), as: CreatedToken.self)
    }

    public func tokens() async throws -> [TokenInfo] { try await all("/api/v1/tokens", as: TokenInfo.self) }

    public func revokeToken(_ id: String) async throws { try await callNoContent(.DELETE, "/api/v1/tokens/\(id.percentEscaped)") }

    public func createModel(_ model: ModelName, description: String?, tags: [String]?) async throws -> ModelInfo {
        try await call(.POST, model.apiPath, body: CreateModelRequest(description: description, tags: tags), as: ModelInfo.self)
    }

    public func models(limit: Int = 100, cursor: String? = nil) async throws -> Page<ModelInfo> {
        try await call(.GET, "/api/v1/models?limit=\(limit)" + (cursor.map { "&cursor=\($0.percentEscaped)" } ?? ""), as: Page<ModelInfo>.self)
    }

    public func model(_ model: ModelName) async throws -> ModelInfo { try await call(.GET, model.apiPath, as: ModelInfo.self) }

    /// The version a reference names, with its manifest.
    public func resolve(_ reference: Reference) async throws -> VersionInfo {
        let path: String
        switch reference.selector {
        case .latest: path = "\(reference.model.apiPath)/latest"
        case .version(let number): path = "\(reference.model.apiPath)/versions/\(number)"
        case .alias(let alias): path = "\(reference.model.apiPath)/aliases/\(alias)/version"
        }
        return try await call(.GET, path, as: VersionInfo.self)
    }

    public func aliases(_ model: ModelName) async throws -> [AliasInfo] {
        try await all("\(model.apiPath)/aliases", as: AliasInfo.self)
    }

    public func setAlias(_ model: ModelName, _ alias: AliasName, _ request: SetAliasRequest) async throws -> AliasInfo {
        try await call(.PUT, "\(model.apiPath)/aliases/\(alias)", body: request, as: AliasInfo.self)
    }

    public func removeAlias(_ model: ModelName, _ alias: AliasName) async throws {
        try await callNoContent(.DELETE, "\(model.apiPath)/aliases/\(alias)")
    }

    public func promote(_ model: ModelName, _ request: PromoteRequest) async throws -> PromotionResult {
        try await call(.POST, "\(model.apiPath)/promote", body: request, as: PromotionResult.self)
    }

    public func archive(_ model: ModelName, version: Int) async throws -> VersionInfo {
        try await call(.POST, "\(model.apiPath)/versions/\(version)/archive", as: VersionInfo.self)
    }

    public func delete(_ model: ModelName, version: Int) async throws -> VersionInfo {
        try await call(.DELETE, "\(model.apiPath)/versions/\(version)", as: VersionInfo.self)
    }

    public func createDraft(_ model: ModelName, _ request: DraftRequest) async throws -> DraftResponse {
        try await call(.POST, "\(model.apiPath)/drafts", body: request, as: DraftResponse.self)
    }

    public func commitDraft(_ model: ModelName, draftID: String) async throws -> VersionInfo {
        try await call(.POST, "\(model.apiPath)/drafts/\(draftID.percentEscaped)/commit", as: VersionInfo.self)
    }

    /// The audit log, oldest first: all of it, or one model's; of one actor, of one action or
    /// action family (`deployment`).
    public func auditEntries(model: ModelName?, actor: String? = nil, action: String? = nil, limit: Int = 1000, cursor: String? = nil) async throws -> Page<AuditEntryInfo> {
        var path = "/api/v1/audit?limit=\(limit)"
        if let model { path += "&model=\(model.description.percentEscaped)" }
        path += Self.auditQuery(actor: actor, action: action, cursor: cursor)
        return try await call(.GET, path, as: Page<AuditEntryInfo>.self)
    }

    static func auditQuery(actor: String?, action: String?, cursor: String?) -> String {
        var query = ""
        if let actor { query += "&actor=\(actor.percentEscaped)" }
        if let action { query += "&action=\(action.percentEscaped)" }
        if let cursor { query += "&cursor=\(cursor.percentEscaped)" }
        return query
    }

    public func verifyAudit() async throws -> AuditVerification {
        try await call(.GET, "/api/v1/audit/verify", as: AuditVerification.self)
    }
}

extension String {
    var percentEscaped: String {
        addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? self
    }
}

import Foundation

extension APIClient {
    /// `count` bytes of a blob from `offset` (an HTTP Range request), for reading headers
    /// without downloading weights.
    public func readBlobRange(_ model: ModelName, _ digest: Digest, offset: UInt64, count: Int) async throws -> [UInt8] {
        guard count > 0 else { return [] }
        var request = request(.GET, "\(model.apiPath)/blobs/\(digest)")
        request.headers.add(name: "Range", value: "bytes=\(offset)-\(offset + UInt64(count) - 1)")
        let response = try await send(request)
        let body = try await response.body.collect(upTo: count + 1)
        return Array(body.readableBytesView)
    }

    public func formatPolicies() async throws -> [FormatPolicyInfo] {
        try await all("/api/v1/policies", as: FormatPolicyInfo.self)
    }

    public func setFormatPolicy(scope: String, formats: [String]) async throws -> FormatPolicyInfo {
        try await call(.PUT, "/api/v1/policies", body: FormatPolicyRequest(scope: scope, formats: formats), as: FormatPolicyInfo.self)
    }

    /// Versions matching `filter`, newest first.
    public func versions(_ model: ModelName, filter: VersionFilter, limit: Int = 100, cursor: String? = nil) async throws -> Page<VersionInfo> {
        try await call(.GET, Self.listPath("\(model.apiPath)/versions", filter.queryItems, limit: limit, cursor: cursor), as: Page<VersionInfo>.self)
    }
}

/// Governance: grants, protections, requests, checks, history.
extension APIClient {
    public func grant(_ request: GrantRequest) async throws -> GrantInfo {
        try await call(.POST, "/api/v1/grants", body: request, as: GrantInfo.self)
    }

    public func revoke(_ request: GrantRequest) async throws {
        try await callNoContent(.POST, "/api/v1/grants/revoke", body: request)
    }

    public func grants(principal: String?) async throws -> [GrantInfo] {
        try await all("/api/v1/grants" + (principal.map { "?principal=\($0.percentEscaped)" } ?? ""), as: GrantInfo.self)
    }

    public func protect(_ request: ProtectRequest) async throws -> ProtectionInfo {
        try await call(.PUT, "/api/v1/protections", body: request, as: ProtectionInfo.self)
    }

    public func unprotect(scope: String, alias: String) async throws {
        try await callNoContent(.POST, "/api/v1/protections/remove", body: ["scope": scope, "alias": alias])
    }

    public func protections() async throws -> [ProtectionInfo] {
        try await all("/api/v1/protections", as: ProtectionInfo.self)
    }

    public func decide(requestID: String, approve: Bool, reason: String?, forceIncompatible: Bool = false) async throws -> PromotionResult {
        try await call(.POST, "/api/v1/requests/\(requestID.percentEscaped)/\(approve ? "approve" : "reject")",
                       body: DecisionRequest(reason: reason, forceIncompatible: forceIncompatible ? true : nil), as: PromotionResult.self)
    }

    public func promotionRequests(model: ModelName?) async throws -> [PromotionRequestInfo] {
        let path = model.map { "\($0.apiPath)/requests" } ?? "/api/v1/requests"
        return try await all(path, as: PromotionRequestInfo.self)
    }

    public func reportCheck(_ model: ModelName, version: Int, _ report: CheckReportRequest) async throws -> CheckInfo {
        try await call(.POST, "\(model.apiPath)/versions/\(version)/checks", body: report, as: CheckInfo.self)
    }

    public func aliasHistory(_ model: ModelName, _ alias: AliasName) async throws -> [AliasHistoryEntry] {
        try await all("\(model.apiPath)/aliases/\(alias)/history", as: AliasHistoryEntry.self)
    }

    public func resolveAlias(_ model: ModelName, _ alias: AliasName, at: String?) async throws -> ResolvedAlias {
        try await call(.GET, "\(model.apiPath)/aliases/\(alias)/resolve" + (at.map { "?at=\($0.percentEscaped)" } ?? ""), as: ResolvedAlias.self)
    }

    public func modelAudit(_ model: ModelName, actor: String? = nil, action: String? = nil, limit: Int = 1000, cursor: String? = nil) async throws -> Page<AuditEntryInfo> {
        try await call(.GET, "\(model.apiPath)/audit?limit=\(limit)" + Self.auditQuery(actor: actor, action: action, cursor: cursor), as: Page<AuditEntryInfo>.self)
    }
}
