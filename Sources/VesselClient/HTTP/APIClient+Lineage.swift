import Foundation
import VesselCore

/// Datasets, training runs, a version's environment and the lineage graph (docs/lineage.md).
extension APIClient {
    public func addDatasetRevision(_ dataset: ModelName, _ request: DatasetRevisionRequest) async throws -> DatasetRevisionInfo {
        try await call(.POST, "/api/v1/datasets/\(dataset.owner)/\(dataset.name)/revisions", body: request, as: DatasetRevisionInfo.self)
    }

    public func datasetRevision(_ reference: DatasetReference) async throws -> DatasetRevisionInfo {
        try await call(.GET, "/api/v1/datasets/\(reference.dataset.owner)/\(reference.dataset.name)/revisions/\(reference.revision)", as: DatasetRevisionInfo.self)
    }

    public func datasetRevisions(_ dataset: ModelName) async throws -> [DatasetRevisionInfo] {
        try await all("/api/v1/datasets/\(dataset.owner)/\(dataset.name)/revisions", as: DatasetRevisionInfo.self)
    }

    public func datasets() async throws -> [DatasetRevisionInfo] {
        try await all("/api/v1/datasets", as: DatasetRevisionInfo.self)
    }

    public func addRun(owner: String, id: String, _ request: RunRequest) async throws -> RunInfo {
        try await call(.POST, "/api/v1/runs/\(owner)/\(id)", body: request, as: RunInfo.self)
    }

    public func run(owner: String, id: String) async throws -> RunInfo {
        try await call(.GET, "/api/v1/runs/\(owner)/\(id)", as: RunInfo.self)
    }

    /// The runs the caller may read, newest first (`owner`: one owner's; `id`: that run only).
    public func runs(owner: String? = nil, id: String? = nil) async throws -> [RunInfo] {
        var query: [String] = []
        if let owner { query.append("owner=\(owner)") }
        if let id { query.append("id=\(id)") }
        return try await all("/api/v1/runs" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")), as: RunInfo.self)
    }

    public func versionLineage(_ model: ModelName, version: Int) async throws -> VersionLineageInfo {
        try await call(.GET, "\(model.apiPath)/versions/\(version)/environment", as: VersionLineageInfo.self)
    }

    /// The graph from `root`: `version`, `dataset` or `run`, as the path its route starts with.
    public func lineage(path: String, down: Bool?, depth: Int?) async throws -> LineageGraph {
        var query: [String] = []
        if let down { query.append("direction=\(down ? "down" : "up")") }
        if let depth { query.append("depth=\(depth)") }
        return try await call(.GET, path + "/lineage" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")), as: LineageGraph.self)
    }
}
