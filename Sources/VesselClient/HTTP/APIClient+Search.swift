import VesselCore

/// Searching models and versions, and changing their metadata (issue 27, docs/search.md).
extension APIClient {
    /// One page of the models matching `query` that the caller may read.
    public func models(_ query: ModelQuery, limit: Int = 100, cursor: String? = nil) async throws -> Page<ModelInfo> {
        try await call(.GET, Self.listPath("/api/v1/models", query.queryItems, limit: limit, cursor: cursor), as: Page<ModelInfo>.self)
    }

    /// One page of the versions of every readable model matching `search`, newest first.
    public func searchVersions(_ search: VersionSearch, limit: Int = 100, cursor: String? = nil) async throws -> Page<VersionInfo> {
        try await call(.GET, Self.listPath("/api/v1/versions", search.queryItems, limit: limit, cursor: cursor), as: Page<VersionInfo>.self)
    }

    public func updateModel(_ model: ModelName, _ update: UpdateModelRequest) async throws -> ModelInfo {
        try await call(.PATCH, model.apiPath, body: update, as: ModelInfo.self)
    }

    public func updateVersion(_ model: ModelName, version: Int, description: String) async throws -> VersionInfo {
        try await call(.PATCH, "\(model.apiPath)/versions/\(version)", body: UpdateVersionRequest(description: description), as: VersionInfo.self)
    }

    /// `path?limit=N&k=v…&cursor=C`, every value percent-escaped.
    static func listPath(_ path: String, _ items: [(String, String)], limit: Int, cursor: String?) -> String {
        var text = "\(path)?limit=\(limit)"
        for (key, value) in items { text += "&\(key)=\(value.percentEscaped)" }
        if let cursor { text += "&cursor=\(cursor.percentEscaped)" }
        return text
    }
}
