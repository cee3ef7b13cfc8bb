import VesselCore

/// Datasets, training runs and the lineage graph (issue 25, docs/lineage.md). Every write is
/// audited and announced (`dataset.added`, `run.added`); reads answer whatever exists, and the
/// caller filters by what the principal may read.
public protocol LineageStore: Sendable {
    /// Records the next revision of `dataset` (creating the dataset on its first revision).
    /// Audit `dataset.add`, event `dataset.added`.
    /// - Throws: `already_exists` when a model has the name; `not_found` for an unknown source
    ///   revision.
    func addDatasetRevision(_ dataset: ModelName, uri: String, digest: Digest?, size: Int64?, from: [DatasetReference], description: String,
                            change: ChangeContext) async throws -> DatasetRevisionInfo
    /// - Throws: `not_found`.
    func datasetRevision(_ reference: DatasetReference) async throws -> DatasetRevisionInfo
    /// Every revision of `dataset`, newest first. - Throws: `not_found` for an unknown dataset.
    func datasetRevisions(_ dataset: ModelName) async throws -> [DatasetRevisionInfo]
    /// The latest revision of every dataset `readable` covers.
    func latestDatasetRevisions(readable: [Scope]) async throws -> [DatasetRevisionInfo]
    /// Records a run under `owner` with the id the client chose. Audit `run.add`, event
    /// `run.added` (model field `OWNER/*`).
    /// - Throws: `already_exists` for a taken id; `not_found` for an unknown dataset revision.
    func addRun(owner: String, id: String, request: RunRequest, datasets: [DatasetReference], requirements: [RequirementEntry]?,
                change: ChangeContext) async throws -> RunInfo
    /// - Throws: `not_found`.
    func run(owner: String, id: String) async throws -> RunInfo
    /// The owner of run `id`. - Throws: `not_found`.
    func runOwner(id: String) async throws -> String
    /// The runs of `owner`, newest first, without their config text.
    func runs(owner: String) async throws -> [RunInfo]
    /// Links a draft to its run and environment before it is committed; `version.created`
    /// then names the run. - Throws: `not_found` for an unknown draft or run.
    func linkDraft(model: ModelName, draftID: String, lineage: VersionLineageRequest, requirements: [RequirementEntry]?) async throws
    /// A version's run (`OWNER/ID`) and environment, its own or (part by part) its run's.
    /// - Throws: `not_found`.
    func versionLineage(model: ModelName, version: Int) async throws -> (run: String?, environment: VersionEnvironment)
    /// The graph from `root` (`version:…`, `dataset:…` or `run:…`), `up` toward the data or
    /// `down` toward deployments, at most `depth` edges away.
    /// - Throws: `not_found` for an unknown root.
    func lineage(root: LineageRoot, down: Bool, depth: Int) async throws -> LineageGraph
}

/// Where a lineage query starts.
public enum LineageRoot: Sendable, Hashable {
    case version(ModelName, Int)
    case dataset(DatasetReference)
    case run(owner: String, id: String)
}

extension SQLMetadataStore: LineageStore {}
