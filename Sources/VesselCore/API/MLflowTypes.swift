import Foundation

/// The MLflow Model Registry REST API's shapes (`/api/2.0/mlflow/…`, docs/mlflow.md), as
/// `MlflowClient` (mlflow 3.17.2) reads them: versions are strings, timestamps milliseconds,
/// tags `{key, value}`. Fields without a value are left out (protobuf's JSON), never `null`.
public enum MLflow {
    /// The separator of a model's flat MLflow name: `acme/demo` is `acme~demo`. MLflow splits
    /// `models:/NAME@ALIAS` on `/`, so `owner/name` cannot travel in such a URI; `~` is outside
    /// Vessel's name alphabet (one way to split), is URL-unreserved (never escaped) and passes
    /// every client call (docs/decisions/0028-mlflow-flat-names.md).
    public static let separator: Character = "~"

    public static func flatName(_ model: ModelName) -> String { "\(model.owner)\(separator)\(model.name)" }

    /// A model named as a parameter: the flat name `owner~name` or `owner/name`.
    /// - Throws: `invalid_argument` for anything else.
    public static func modelName(_ text: String) throws(VesselError) -> ModelName {
        let parts = text.split(separator: separator, omittingEmptySubsequences: false)
        if parts.count == 2 { return try ModelName(owner: String(parts[0]), name: String(parts[1])) }
        guard text.contains("/") else {
            throw .invalidArgument("model name '\(text.prefix(200))' names no owner: Vessel models are 'owner~name' in MLflow (or 'owner/name' where the client allows a '/')")
        }
        return try ModelName(text)
    }

    /// Milliseconds since the epoch for an RFC 3339 instant (0 when unreadable).
    public static func millis(_ rfc3339: String) -> Int64 {
        guard let date = Timestamp.parse(rfc3339) else { return 0 }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    /// Vessel tags `key=value` as MLflow tags; a tag without `=` has an empty value.
    public static func tags(_ tags: [String]) -> [Tag] {
        tags.map { tag in
            guard let equals = tag.firstIndex(of: "=") else { return Tag(key: tag, value: "") }
            return Tag(key: String(tag[..<equals]), value: String(tag[tag.index(after: equals)...]))
        }
    }

    /// The artifact location of a version: the client lists and fetches it through
    /// `/api/2.0/mlflow-artifacts/artifacts/<path>` of the tracking server.
    public static func artifactPath(_ model: ModelName, version: Int) -> String {
        "models/\(model.owner)/\(model.name)/versions/\(version)"
    }

    public static func artifactURI(_ model: ModelName, version: Int) -> String { "mlflow-artifacts:/" + artifactPath(model, version: version) }

    /// The model and version an artifact path names, and the folder inside the version
    /// (`""` for its root). nil when the path is not a version's.
    public static func parseArtifactPath(_ path: String) throws(VesselError) -> (model: ModelName, version: Int, folder: String)? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count >= 5, parts[0] == "models", parts[3] == "versions" else { return nil }
        let model = try ModelName(owner: parts[1], name: parts[2])
        let version = try Reference.parseVersion(parts[4])
        return (model, version, parts.dropFirst(5).joined(separator: "/"))
    }

    public struct Tag: Codable, Sendable, Equatable {
        public var key: String
        public var value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public struct AliasEntry: Codable, Sendable, Equatable {
        public var alias: String
        public var version: String
    }

    public struct RegisteredModel: Codable, Sendable, Equatable {
        public var name: String
        public var creationTimestamp: Int64
        public var lastUpdatedTimestamp: Int64
        public var description: String
        public var latestVersions: [ModelVersion]
        public var tags: [Tag]
        public var aliases: [AliasEntry]

        public init(_ info: ModelInfo, latest: [ModelVersion], aliases: [AliasInfo]) {
            name = MLflow.flatName(info.model)
            creationTimestamp = MLflow.millis(info.createdAt)
            lastUpdatedTimestamp = max(creationTimestamp, aliases.map { MLflow.millis($0.updatedAt) }.max() ?? 0, latest.map(\.lastUpdatedTimestamp).max() ?? 0)
            description = info.description
            latestVersions = latest
            tags = MLflow.tags(info.tags)
            self.aliases = aliases.map { AliasEntry(alias: $0.alias, version: String($0.version)) }
        }

        enum CodingKeys: String, CodingKey {
            case name, description, tags, aliases
            case creationTimestamp = "creation_timestamp"
            case lastUpdatedTimestamp = "last_updated_timestamp"
            case latestVersions = "latest_versions"
        }
    }

    public struct ModelVersion: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
        public var creationTimestamp: Int64
        public var lastUpdatedTimestamp: Int64
        public var userId: String
        public var currentStage: String
        public var description: String
        public var source: String
        public var runId: String
        /// `READY`, or `FAILED_REGISTRATION` for a quarantined version.
        public var status: String
        public var statusMessage: String
        public var tags: [Tag]
        public var aliases: [String]

        public init(_ info: VersionInfo) {
            name = MLflow.flatName(info.model)
            version = String(info.version)
            creationTimestamp = MLflow.millis(info.createdAt)
            lastUpdatedTimestamp = creationTimestamp
            userId = info.createdBy
            currentStage = info.state == .archived ? "Archived" : "None"
            description = info.description
            source = MLflow.artifactURI(info.model, version: info.version)
            runId = ""
            status = info.state == .quarantined ? "FAILED_REGISTRATION" : "READY"
            statusMessage = info.state == .quarantined ? "quarantined by Vessel: \(info.findings.count) finding(s); see `vessel show \(info.model):\(info.version)`" : ""
            tags = [Tag(key: "vessel.digest", value: info.digest.description), Tag(key: "vessel.state", value: info.state.rawValue)]
            aliases = info.aliases.sorted()
        }

        enum CodingKeys: String, CodingKey {
            case name, version, description, source, status, tags, aliases
            case creationTimestamp = "creation_timestamp"
            case lastUpdatedTimestamp = "last_updated_timestamp"
            case userId = "user_id"
            case currentStage = "current_stage"
            case runId = "run_id"
            case statusMessage = "status_message"
        }
    }

    public struct RegisteredModelReply: Codable, Sendable {
        public var registeredModel: RegisteredModel
        public init(_ model: RegisteredModel) { registeredModel = model }
        enum CodingKeys: String, CodingKey { case registeredModel = "registered_model" }
    }

    public struct ModelVersionReply: Codable, Sendable {
        public var modelVersion: ModelVersion
        public init(_ version: ModelVersion) { modelVersion = version }
        enum CodingKeys: String, CodingKey { case modelVersion = "model_version" }
    }

    public struct RegisteredModelsPage: Codable, Sendable {
        public var registeredModels: [RegisteredModel]
        public var nextPageToken: String?
        public init(_ models: [RegisteredModel], next: String?) {
            registeredModels = models
            nextPageToken = next
        }
        enum CodingKeys: String, CodingKey {
            case registeredModels = "registered_models"
            case nextPageToken = "next_page_token"
        }
    }

    public struct ModelVersionsPage: Codable, Sendable {
        public var modelVersions: [ModelVersion]
        public var nextPageToken: String?
        public init(_ versions: [ModelVersion], next: String?) {
            modelVersions = versions
            nextPageToken = next
        }
        enum CodingKeys: String, CodingKey {
            case modelVersions = "model_versions"
            case nextPageToken = "next_page_token"
        }
    }

    public struct DownloadURIReply: Codable, Sendable {
        public var artifactURI: String
        public init(_ uri: String) { artifactURI = uri }
        enum CodingKeys: String, CodingKey { case artifactURI = "artifact_uri" }
    }

    public struct FileInfo: Codable, Sendable, Equatable {
        public var path: String
        public var isDir: Bool
        public var fileSize: Int64?
        public init(path: String, isDir: Bool, fileSize: Int64?) {
            self.path = path
            self.isDir = isDir
            self.fileSize = fileSize
        }
        enum CodingKeys: String, CodingKey {
            case path
            case isDir = "is_dir"
            case fileSize = "file_size"
        }
    }

    public struct FileList: Codable, Sendable {
        public var files: [FileInfo]
        public init(_ files: [FileInfo]) { self.files = files }
    }

    /// The error body: `{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "…"}`.
    public struct ErrorReply: Codable, Sendable, Equatable {
        public var errorCode: String
        public var message: String
        public init(errorCode: String, message: String) {
            self.errorCode = errorCode
            self.message = message
        }
        enum CodingKeys: String, CodingKey {
            case errorCode = "error_code"
            case message
        }
    }

    /// MLflow's code and HTTP status for a Vessel error. Nothing maps to a status the client
    /// retries (500, 502, 503, 504, 408, 429) unless waiting can help.
    public static func code(for error: ErrorCode) -> (code: String, status: Int) {
        switch error {
        case .invalidArgument, .digestMismatch, .sizeMismatch, .missingBlobs, .rangeNotSatisfiable: ("INVALID_PARAMETER_VALUE", 400)
        case .payloadTooLarge: ("INVALID_PARAMETER_VALUE", 413)
        case .unauthenticated: ("UNAUTHENTICATED", 401)
        case .forbidden, .refused, .notVerified: ("PERMISSION_DENIED", 403)
        case .notFound: ("RESOURCE_DOES_NOT_EXIST", 404)
        case .alreadyExists: ("RESOURCE_ALREADY_EXISTS", 400)
        case .preconditionFailed, .conflict, .quarantined, .versionNotReady, .incompatible: ("INVALID_STATE", 400)
        case .insufficientStorage: ("INTERNAL_ERROR", 507)
        case .schemaTooNew, .unavailable: ("TEMPORARILY_UNAVAILABLE", 503)
        case .internalError: ("INTERNAL_ERROR", 500)
        }
    }
}

/// The request bodies (`POST`/`PATCH`/`DELETE` send JSON). Every field is optional so that a
/// missing one is answered with MLflow's `INVALID_PARAMETER_VALUE`, naming it.
public struct MLflowRequest: Codable, Sendable {
    public var name: String?
    public var version: String?
    public var alias: String?
    public var description: String?
    public var source: String?
    public var stages: [String]?
    public var tags: [MLflow.Tag]?

    public init(name: String? = nil, version: String? = nil, alias: String? = nil, description: String? = nil, source: String? = nil, stages: [String]? = nil, tags: [MLflow.Tag]? = nil) {
        self.name = name
        self.version = version
        self.alias = alias
        self.description = description
        self.source = source
        self.stages = stages
        self.tags = tags
    }
}

/// The `filter` strings of MLflow's searches that Vessel answers: clauses joined by `AND`,
/// each `name = '…'`, `name LIKE '…'`, `name ILIKE '…'` or a tag comparison
/// (``tag.`key` = '…'``, `!=`). Names compare in either form (`owner~name`, `owner/name`).
public struct MLflowFilter: Sendable, Equatable {
    public enum Clause: Sendable, Equatable {
        case nameEquals(String)
        case nameLike(String, caseInsensitive: Bool)
        case tag(key: String, value: String, equal: Bool)
    }

    public var clauses: [Clause]

    public static func parse(_ text: String?) throws(VesselError) -> MLflowFilter {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return MLflowFilter(clauses: []) }
        var clauses: [Clause] = []
        var scanner = Substring(text)
        func skipSpaces() { scanner = scanner.drop(while: { $0 == " " }) }
        func unsupported() -> VesselError {
            .invalidArgument("unsupported filter '\(text.prefix(300))': Vessel answers name = '…', name LIKE '…', name ILIKE '…' and tag.`key` = / != '…', joined by AND")
        }
        while true {
            skipSpaces()
            let identifier: String
            if scanner.hasPrefix("tag.`") {
                scanner = scanner.dropFirst(5)
                guard let end = scanner.firstIndex(of: "`") else { throw unsupported() }
                identifier = "tag." + scanner[..<end]
                scanner = scanner[scanner.index(after: end)...]
            } else {
                let word = scanner.prefix(while: { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." })
                guard !word.isEmpty else { throw unsupported() }
                identifier = String(word)
                scanner = scanner.dropFirst(word.count)
            }
            skipSpaces()
            let comparator: String
            if scanner.hasPrefix("!=") { comparator = "!="; scanner = scanner.dropFirst(2) }
            else if scanner.hasPrefix("=") { comparator = "="; scanner = scanner.dropFirst(1) }
            else {
                let word = scanner.prefix(while: { $0.isLetter }).uppercased()
                guard word == "LIKE" || word == "ILIKE" else { throw unsupported() }
                comparator = word
                scanner = scanner.dropFirst(word.count)
            }
            skipSpaces()
            guard let quote = scanner.first, quote == "'" || quote == "\"" else { throw unsupported() }
            scanner = scanner.dropFirst()
            guard let close = scanner.firstIndex(of: quote) else { throw unsupported() }
            let value = String(scanner[..<close])
            scanner = scanner[scanner.index(after: close)...]
            let lowered = identifier.lowercased()
            if lowered == "name" {
                switch comparator {
                case "=": clauses.append(.nameEquals(value))
                case "LIKE", "ILIKE": clauses.append(.nameLike(value, caseInsensitive: comparator == "ILIKE"))
                default: throw unsupported()
                }
            } else if lowered.hasPrefix("tag.") || lowered.hasPrefix("tags.") {
                let key = String(identifier.drop(while: { $0 != "." }).dropFirst())
                guard comparator == "=" || comparator == "!=" else { throw unsupported() }
                clauses.append(.tag(key: key, value: value, equal: comparator == "="))
            } else {
                throw unsupported()
            }
            skipSpaces()
            if scanner.isEmpty { break }
            guard scanner.prefix(3).uppercased() == "AND", scanner.dropFirst(3).first == " " else { throw unsupported() }
            scanner = scanner.dropFirst(3)
        }
        return MLflowFilter(clauses: clauses)
    }

    /// The one model an `name = '…'` clause names, if any.
    public func exactName() throws(VesselError) -> ModelName? {
        for case .nameEquals(let text) in clauses { return try MLflow.modelName(text) }
        return nil
    }

    public func matches(_ model: ModelName, tags: [String]) -> Bool {
        let mlflowTags = MLflow.tags(tags)
        for clause in clauses {
            switch clause {
            case .nameEquals(let text):
                guard let name = try? MLflow.modelName(text), name == model else { return false }
            case .nameLike(let pattern, let caseInsensitive):
                let flat = MLflow.flatName(model), slashed = model.description
                guard Self.like(flat, pattern, caseInsensitive) || Self.like(slashed, pattern, caseInsensitive) else { return false }
            case .tag(let key, let value, let equal):
                let present = mlflowTags.contains { $0.key == key && $0.value == value }
                if present != equal { return false }
            }
        }
        return true
    }

    /// SQL `LIKE`: `%` any run, `_` one character.
    static func like(_ text: String, _ pattern: String, _ caseInsensitive: Bool) -> Bool {
        let t = Array(caseInsensitive ? text.lowercased() : text), p = Array(caseInsensitive ? pattern.lowercased() : pattern)
        var memo = [[Bool?]](repeating: [Bool?](repeating: nil, count: p.count + 1), count: t.count + 1)
        func go(_ i: Int, _ j: Int) -> Bool {
            if let known = memo[i][j] { return known }
            let result: Bool
            if j == p.count { result = i == t.count }
            else if p[j] == "%" { result = go(i, j + 1) || (i < t.count && go(i + 1, j)) }
            else { result = i < t.count && (p[j] == "_" || p[j] == t[i]) && go(i + 1, j + 1) }
            memo[i][j] = result
            return result
        }
        return go(0, 0)
    }
}
