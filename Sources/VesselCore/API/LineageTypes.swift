/// Lineage (issue 25): dataset revisions, training runs, a version's environment, and the graph
/// that joins them to deployments (docs/lineage.md).

/// A dataset revision's address: `OWNER/NAME:REV`, written `dataset:OWNER/NAME:REV` wherever
/// it could be read as a model version.
public struct DatasetReference: Hashable, Sendable, CustomStringConvertible {
    public let dataset: ModelName
    public let revision: Int

    public init(dataset: ModelName, revision: Int) {
        self.dataset = dataset
        self.revision = revision
    }

    /// Accepts `OWNER/NAME:REV` and `dataset:OWNER/NAME:REV`.
    public init(_ text: String) throws(VesselError) {
        let body = text.hasPrefix("dataset:") ? String(text.dropFirst(8)) : text
        guard let colon = body.lastIndex(of: ":"), let revision = Int(body[body.index(after: colon)...]), revision > 0,
              String(revision) == body[body.index(after: colon)...] else {
            throw .invalidArgument("dataset revision '\(text.prefix(200))' must look like owner/name:N (N a revision number from 1)")
        }
        self.dataset = try ModelName(String(body[..<colon]))
        self.revision = revision
    }

    public var description: String { "\(dataset):\(revision)" }
}

/// A container image pinned by digest: `REF@sha256:<64 hex>`; a tag alone is refused because
/// it can move.
public enum ImageReference {
    public static func validate(_ text: String) throws(VesselError) -> String {
        guard let at = text.lastIndex(of: "@"), at != text.startIndex else {
            throw .invalidArgument("image '\(text.prefix(200))' must be pinned by digest: REF@sha256:<64 hex>, e.g. ghcr.io/acme/serve@sha256:…")
        }
        let name = text[..<at]
        guard name.count <= 255, name.allSatisfy({ !$0.isWhitespace && $0 != "@" }) else {
            throw .invalidArgument("image '\(text.prefix(200))' has an invalid name before '@'")
        }
        do { _ = try Digest(String(text[text.index(after: at)...])) } catch {
            throw .invalidArgument("image '\(text.prefix(200))' must be pinned by digest: REF@sha256:<64 lowercase hex>")
        }
        return text
    }
}

/// `POST /api/v1/datasets/:owner/:name/revisions`.
public struct DatasetRevisionRequest: Codable, Sendable, Equatable {
    public var uri: String
    public var digest: String?
    public var size: Int64?
    /// Revisions this one was derived from, `OWNER/NAME:REV`.
    public var from: [String]?
    public var description: String?

    public init(uri: String, digest: String? = nil, size: Int64? = nil, from: [String]? = nil, description: String? = nil) {
        self.uri = uri
        self.digest = digest
        self.size = size
        self.from = from
        self.description = description
    }
}

/// One immutable dataset revision.
public struct DatasetRevisionInfo: Codable, Sendable, Equatable {
    public var dataset: ModelName
    public var revision: Int
    public var uri: String
    public var digest: Digest?
    public var size: Int64?
    public var from: [String]
    public var description: String
    public var createdAt: String
    public var createdBy: String

    public init(dataset: ModelName, revision: Int, uri: String, digest: Digest?, size: Int64?, from: [String], description: String, createdAt: String, createdBy: String) {
        self.dataset = dataset
        self.revision = revision
        self.uri = uri
        self.digest = digest
        self.size = size
        self.from = from
        self.description = description
        self.createdAt = createdAt
        self.createdBy = createdBy
    }

    public var reference: DatasetReference { DatasetReference(dataset: dataset, revision: revision) }

    enum CodingKeys: String, CodingKey {
        case dataset, revision, uri, digest, size, from, description
        case createdAt = "created_at"
        case createdBy = "created_by"
    }
}

/// A requirements file sent with a push or a run: its name (for messages) and text.
public struct RequirementsUpload: Codable, Sendable, Equatable {
    public var fileName: String
    public var text: String

    public init(fileName: String, text: String) {
        self.fileName = fileName
        self.text = text
    }

    enum CodingKeys: String, CodingKey {
        case fileName = "file_name"
        case text
    }
}

/// `POST /api/v1/runs/:owner/:name` (`:name` is the run id the client chose, `run_…`).
public struct RunRequest: Codable, Sendable, Equatable {
    public var name: String?
    public var gitRepo: String?
    public var gitCommit: String?
    /// The config file's name and content (at most `RunRequest.maxConfigBytes` UTF-8 bytes).
    public var configName: String?
    public var config: String?
    public var params: [String: String]?
    public var metrics: [String: Double]?
    public var datasets: [String]?
    public var image: String?
    public var requirements: RequirementsUpload?

    public static let maxConfigBytes = 1 << 20

    public init(name: String? = nil, gitRepo: String? = nil, gitCommit: String? = nil, configName: String? = nil, config: String? = nil,
                params: [String: String]? = nil, metrics: [String: Double]? = nil, datasets: [String]? = nil, image: String? = nil,
                requirements: RequirementsUpload? = nil) {
        self.name = name
        self.gitRepo = gitRepo
        self.gitCommit = gitCommit
        self.configName = configName
        self.config = config
        self.params = params
        self.metrics = metrics
        self.datasets = datasets
        self.image = image
        self.requirements = requirements
    }

    enum CodingKeys: String, CodingKey {
        case name, config, params, metrics, datasets, image, requirements
        case gitRepo = "git_repo"
        case gitCommit = "git_commit"
        case configName = "config_name"
    }

    /// A run id: `run_` and 8 to 60 lowercase letters or digits.
    public static func isValidID(_ id: String) -> Bool {
        id.hasPrefix("run_") && (12...64).contains(id.utf8.count)
            && id.utf8.dropFirst(4).allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7a) }
    }
}

/// A training run.
public struct RunInfo: Codable, Sendable, Equatable {
    public var id: String
    public var owner: String
    public var name: String?
    public var gitRepo: String?
    public var gitCommit: String?
    public var configName: String?
    public var configDigest: Digest?
    /// The config's text; present when one run is fetched, null in lists.
    public var config: String?
    public var params: [String: String]
    public var metrics: [String: Double]
    public var datasets: [String]
    public var environment: VersionEnvironment
    public var createdAt: String
    public var createdBy: String

    public init(id: String, owner: String, name: String?, gitRepo: String?, gitCommit: String?, configName: String?, configDigest: Digest?, config: String?,
                params: [String: String], metrics: [String: Double], datasets: [String], environment: VersionEnvironment, createdAt: String, createdBy: String) {
        self.id = id
        self.owner = owner
        self.name = name
        self.gitRepo = gitRepo
        self.gitCommit = gitCommit
        self.configName = configName
        self.configDigest = configDigest
        self.config = config
        self.params = params
        self.metrics = metrics
        self.datasets = datasets
        self.environment = environment
        self.createdAt = createdAt
        self.createdBy = createdBy
    }

    enum CodingKeys: String, CodingKey {
        case id, owner, name, config, params, metrics, datasets, environment
        case gitRepo = "git_repo"
        case gitCommit = "git_commit"
        case configName = "config_name"
        case configDigest = "config_digest"
        case createdAt = "created_at"
        case createdBy = "created_by"
    }
}

/// A version's (or a run's) environment: the requirements, stored as sent and as parsed, and the
/// container image. `source` says where a version's came from: `version` (sent with the push)
/// or `run` (its run's, as a fallback), per part.
public struct VersionEnvironment: Codable, Sendable, Equatable {
    public var requirementsFile: String?
    public var requirementsText: String?
    public var requirements: [RequirementEntry]?
    public var requirementsSource: String?
    public var image: String?
    public var imageSource: String?

    public init(requirementsFile: String? = nil, requirementsText: String? = nil, requirements: [RequirementEntry]? = nil, requirementsSource: String? = nil,
                image: String? = nil, imageSource: String? = nil) {
        self.requirementsFile = requirementsFile
        self.requirementsText = requirementsText
        self.requirements = requirements
        self.requirementsSource = requirementsSource
        self.image = image
        self.imageSource = imageSource
    }

    public var isEmpty: Bool { requirementsText == nil && image == nil }

    enum CodingKeys: String, CodingKey {
        case requirements, image
        case requirementsFile = "requirements_file"
        case requirementsText = "requirements_text"
        case requirementsSource = "requirements_source"
        case imageSource = "image_source"
    }
}

/// One line of a stored requirements file, parsed (`RequirementsFile.Entry`).
public struct RequirementEntry: Codable, Sendable, Equatable {
    public var line: Int
    public var kind: String
    public var text: String
    public var name: String?
    public var specifier: String?
    public var marker: String?

    public init(line: Int, kind: String, text: String, name: String?, specifier: String?, marker: String?) {
        self.line = line
        self.kind = kind
        self.text = text
        self.name = name
        self.specifier = specifier
        self.marker = marker
    }
}

/// What a push links: the run and the environment sent with it.
public struct VersionLineageRequest: Codable, Sendable, Equatable {
    public var run: String?
    public var requirements: RequirementsUpload?
    public var image: String?

    public init(run: String? = nil, requirements: RequirementsUpload? = nil, image: String? = nil) {
        self.run = run
        self.requirements = requirements
        self.image = image
    }

    public var isEmpty: Bool { run == nil && requirements == nil && image == nil }
}

/// `GET …/lineage`: nodes and edges. Edges point the way data flows: source dataset → derived
/// dataset (`derived`), dataset → run (`trained_on`), run → version (`produced`), version →
/// deployment (`deployed`), whichever way the query walked.
public struct LineageGraph: Codable, Sendable, Equatable {
    public var root: String
    public var direction: String
    public var nodes: [LineageNode]
    public var edges: [LineageEdge]
    /// Nodes left out because the caller may not read them (their owner's scope).
    public var hidden: Int
    /// True when `depth` stopped the walk before it ran out of nodes.
    public var truncated: Bool

    public init(root: String, direction: String, nodes: [LineageNode], edges: [LineageEdge], hidden: Int = 0, truncated: Bool = false) {
        self.root = root
        self.direction = direction
        self.nodes = nodes
        self.edges = edges
        self.hidden = hidden
        self.truncated = truncated
    }
}

public struct LineageNode: Codable, Sendable, Equatable {
    /// `dataset:OWNER/NAME:REV`, `run:OWNER/ID`, `version:OWNER/NAME:N`,
    /// `deployment:OWNER/NAME@ENV/SLOT:N@FROM`.
    public var id: String
    /// `dataset`, `run`, `version` or `deployment`.
    public var kind: String
    public var label: String
    /// What a grant must cover to see the node: `OWNER/NAME` (a dataset, version or
    /// deployment) or `OWNER/*` (a run).
    public var scope: String
    public var depth: Int
    public var uri: String?
    public var digest: String?
    public var gitCommit: String?
    public var env: String?
    public var slot: String?
    public var from: String?
    /// Null while it still serves.
    public var until: String?

    public init(id: String, kind: String, label: String, scope: String, depth: Int, uri: String? = nil, digest: String? = nil, gitCommit: String? = nil,
                env: String? = nil, slot: String? = nil, from: String? = nil, until: String? = nil) {
        self.id = id
        self.kind = kind
        self.label = label
        self.scope = scope
        self.depth = depth
        self.uri = uri
        self.digest = digest
        self.gitCommit = gitCommit
        self.env = env
        self.slot = slot
        self.from = from
        self.until = until
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, label, scope, depth, uri, digest, env, slot, from, until
        case gitCommit = "git_commit"
    }
}

public struct LineageEdge: Codable, Sendable, Equatable, Hashable {
    public var from: String
    public var to: String
    public var kind: String

    public init(from: String, to: String, kind: String) {
        self.from = from
        self.to = to
        self.kind = kind
    }
}

extension DatasetRevisionRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(uri, field: "uri", max: Limits.url)
        try Limits.check(description, field: "description", max: Limits.description)
        try Limits.check(from, field: "from", each: 200, count: 256, element: "a source revision")
    }
}

extension RunRequest: LimitedRequest {
    public func checkLimits() throws(VesselError) {
        try Limits.check(name, field: "name", max: Limits.name)
        try Limits.check(gitRepo, field: "git_repo", max: Limits.url)
        try Limits.check(gitCommit, field: "git_commit", max: 128)
        try Limits.check(configName, field: "config_name", max: 1024)
        try Limits.check(config, field: "config", max: Self.maxConfigBytes)
        try Limits.check(datasets, field: "datasets", each: 200, count: 256, element: "a dataset revision")
        try Limits.check(image, field: "image", max: 512)
        if let params, params.count > 256 || params.contains(where: { $0.key.count > Limits.metricName || $0.value.count > 4096 }) {
            throw .invalidArgument("params: at most 256, each key at most \(Limits.metricName) and value at most 4096 characters")
        }
        if let metrics, metrics.count > Limits.metricsPerCheck || metrics.contains(where: { $0.key.count > Limits.metricName || !$0.value.isFinite }) {
            throw .invalidArgument("metrics: at most \(Limits.metricsPerCheck) finite numbers, each key at most \(Limits.metricName) characters")
        }
        if let requirements { try Limits.check(requirements.text, field: "requirements", max: Self.maxConfigBytes) }
    }
}

extension VersionEnvironment {
    /// The stored form of a requirements file: its text, and each entry parsed.
    /// - Throws: `invalid_argument` naming the file and line that cannot be read.
    public static func parse(_ upload: RequirementsUpload) throws(VesselError) -> [RequirementEntry] {
        let file: RequirementsFile
        do throws(RequirementsFileError) {
            file = try RequirementsFile(text: upload.text, fileName: upload.fileName)
        } catch {
            throw .invalidArgument(error.description)
        }
        return file.entries.map { entry in
            RequirementEntry(line: entry.line, kind: entry.kind.rawValue, text: entry.text, name: entry.requirement?.normalizedName,
                             specifier: entry.requirement.flatMap { $0.url == nil ? $0.specifiers.description : "@ " + ($0.url ?? "") },
                             marker: entry.requirement?.marker?.description)
        }
    }
}

/// `GET …/versions/:version/environment`: the run a version links (`OWNER/ID`) and its environment.
public struct VersionLineageInfo: Codable, Sendable, Equatable {
    public var run: String?
    public var environment: VersionEnvironment

    public init(run: String?, environment: VersionEnvironment) {
        self.run = run
        self.environment = environment
    }
}
