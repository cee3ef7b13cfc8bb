import ArgumentParser
import Foundation
import VesselClient
import VesselCore

struct DatasetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset", abstract: "Datasets: immutable, numbered revisions, and what each was derived from (docs/lineage.md).",
        subcommands: [DatasetAdd.self, DatasetShow.self, DatasetList.self])
}

struct DatasetAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Record the next revision of a dataset (created on its first revision).")
    @Argument(help: "owner/name (a name no model has).") var dataset: String
    @Option(help: "Where the data is (s3://…, https://…, a path).") var uri: String
    @Option(help: "The data's digest, sha256:<64 hex>.") var digest: String?
    @Option(help: "The data's size in bytes.") var size: Int64?
    @Option(name: .customLong("from"), help: ArgumentHelp("A revision this one was derived from, owner/name:REV (repeatable).", valueName: "owner/name:rev"))
    var sources: [String] = []
    @Option(help: "A description of the revision.") var description: String?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let name = try ModelName(dataset)
            if let digest { _ = try Digest(digest) }
            let from = try sources.map { try DatasetReference($0).description }
            let request = DatasetRevisionRequest(uri: uri, digest: digest, size: size, from: from.isEmpty ? nil : from, description: description)
            let info = try await client.withClient { try await $0.addDatasetRevision(name, request) }
            if client.json { Output.json(info) } else { Output.line("added dataset \(info.reference) (\(info.uri))") }
        }
    }
}

struct DatasetShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a dataset revision.")
    @Argument(help: "owner/name:REV") var revision: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let reference = try DatasetReference(revision)
            let info = try await client.withClient { try await $0.datasetRevision(reference) }
            if client.json { Output.json(info); return }
            Output.line("dataset:     \(info.reference)")
            Output.line("uri:         \(info.uri)")
            Output.line("digest:      \(info.digest?.description ?? "-")")
            Output.line("size:        \(info.size.map { Output.bytes(UInt64($0)) } ?? "-")")
            Output.line("from:        \(info.from.isEmpty ? "-" : info.from.joined(separator: ", "))")
            Output.line("created:     \(info.createdAt) by \(info.createdBy)")
            if !info.description.isEmpty { Output.line("description: \(info.description)") }
        }
    }
}

struct DatasetList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List a dataset's revisions, or the latest revision of every dataset you may read.")
    @Argument(help: "owner/name") var dataset: String?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let name = try dataset.map { try ModelName($0) }
            let items = try await client.withClient { api in
                if let name { return try await api.datasetRevisions(name) }
                return try await api.datasets()
            }
            if client.json { Output.json(Page(items: items, nextCursor: nil)); return }
            Output.table(["DATASET", "URI", "DIGEST", "FROM", "CREATED"],
                         items.map { [$0.reference.description, $0.uri, $0.digest.map { String($0.description.prefix(19)) } ?? "-", $0.from.joined(separator: ","), $0.createdAt] })
        }
    }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Training runs: code, config, parameters, metrics, datasets and environment (docs/lineage.md).",
        subcommands: [RunAdd.self, RunList.self, RunShow.self])
}

struct RunAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Record a training run under an owner; prints its id.")
    @Argument(help: "The owner the run belongs to (grants on OWNER/* cover it).") var owner: String
    @Option(help: "A name for the run.") var name: String?
    @Option(name: .customLong("git-repo"), help: "The code's repository URL.") var gitRepo: String?
    @Option(name: .customLong("git-commit"), help: "The code's commit.") var gitCommit: String?
    @Option(help: "The training config file (kept with its digest; at most 1 MiB).") var config: String?
    @Option(name: .customLong("param"), help: ArgumentHelp("A parameter, k=v (repeatable).", valueName: "k=v")) var params: [String] = []
    @Option(name: .customLong("metric"), help: ArgumentHelp("A metric, k=number (repeatable).", valueName: "k=v")) var metrics: [String] = []
    @Option(name: .customLong("dataset"), help: ArgumentHelp("A dataset revision the run read, owner/name:REV (repeatable).", valueName: "owner/name:rev"))
    var datasets: [String] = []
    @Option(help: "The training image, pinned by digest: REF@sha256:….") var image: String?
    @Option(help: "The run's requirements.txt.") var requirements: String?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            guard NameRules.isValidModelPart(owner) else { throw VesselError.invalidArgument("owner '\(owner)' must be 1-64 characters of a-z, 0-9, '.', '_' or '-'") }
            if let image { _ = try ImageReference.validate(image) }
            let datasets = try datasets.map { try DatasetReference($0).description }
            var request = RunRequest(name: name, gitRepo: gitRepo, gitCommit: gitCommit, datasets: datasets.isEmpty ? nil : datasets, image: image)
            if let config {
                let text = try LocalText.read(config, limit: RunRequest.maxConfigBytes, what: "config")
                request.configName = (config as NSString).lastPathComponent
                request.config = text
            }
            request.params = try Self.pairs(params, what: "--param")
            request.metrics = try Self.pairs(metrics, what: "--metric").map { pairs in
                try pairs.mapValues { value in
                    guard let number = Double(value), number.isFinite else { throw VesselError.invalidArgument("--metric values must be numbers, not '\(value)'") }
                    return number
                }
            }
            if let requirements { request.requirements = try LocalText.requirements(requirements) }
            let id = "run_" + RandomID.hex128().prefix(24)
            let info = try await client.withClient { try await $0.addRun(owner: owner, id: id, request) }
            if client.json { Output.json(info) } else { Output.line(info.id) }
        }
    }

    static func pairs(_ values: [String], what: String) throws -> [String: String]? {
        guard !values.isEmpty else { return nil }
        var out: [String: String] = [:]
        for value in values {
            guard let eq = value.firstIndex(of: "="), eq != value.startIndex else { throw VesselError.invalidArgument("\(what) '\(value)' must be key=value") }
            out[String(value[..<eq])] = String(value[value.index(after: eq)...])
        }
        return out
    }
}

struct RunList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the training runs you may read, newest first.")
    @Argument(help: "Only this owner's runs.") var owner: String?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            if let owner, !NameRules.isValidModelPart(owner) {
                throw VesselError.invalidArgument("owner '\(owner)' must be 1-64 characters of a-z, 0-9, '.', '_' or '-'")
            }
            let items = try await client.withClient { try await $0.runs(owner: owner) }
            if client.json { Output.json(Page(items: items, nextCursor: nil)); return }
            Output.table(["RUN", "NAME", "COMMIT", "DATASETS", "CREATED"],
                         items.map { ["\($0.owner)/\($0.id)", $0.name ?? "-", $0.gitCommit.map { String($0.prefix(12)) } ?? "-",
                                      $0.datasets.isEmpty ? "-" : $0.datasets.joined(separator: ","), $0.createdAt] })
        }
    }
}

struct RunShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a training run (exit 3 when it does not exist or you may not read it).")
    @Argument(help: "RUN_ID or OWNER/RUN_ID") var run: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let parts = run.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard (parts.count == 1 || parts.count == 2), RunRequest.isValidID(parts[parts.count - 1]) else {
                throw VesselError.invalidArgument("'\(run)' must be RUN_ID or OWNER/RUN_ID (run_ followed by 8 to 60 lowercase letters or digits)")
            }
            let id = parts[parts.count - 1]
            let info = try await client.withClient { api in
                if parts.count == 2 { return try await api.run(owner: parts[0], id: id) }
                guard let found = try await api.runs(id: id).first else { throw VesselError.notFound("run '\(id)' does not exist") }
                return try await api.run(owner: found.owner, id: id)
            }
            if client.json { Output.json(info); return }
            Output.line("run:         \(info.owner)/\(info.id)\(info.name.map { " (\($0))" } ?? "")")
            Output.line("code:        \(info.gitRepo ?? "-") \(info.gitCommit ?? "")")
            Output.line("config:      \(info.configName ?? "-") \(info.configDigest?.description ?? "")")
            Output.line("params:      " + (info.params.isEmpty ? "-" : info.params.keys.sorted().map { "\($0)=\(info.params[$0] ?? "")" }.joined(separator: " ")))
            Output.line("metrics:     " + (info.metrics.isEmpty ? "-" : info.metrics.keys.sorted().map { "\($0)=\(info.metrics[$0] ?? 0)" }.joined(separator: " ")))
            Output.line("datasets:    \(info.datasets.isEmpty ? "-" : info.datasets.joined(separator: ", "))")
            EnvironmentText.render(info.environment)
            Output.line("created:     \(info.createdAt) by \(info.createdBy)")
        }
    }
}

struct LineageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineage", abstract: "Where a version came from, or what a dataset reached (docs/lineage.md).",
        discussion: """
            REF is a version (owner/name:N, owner/name@alias, owner/name), dataset:owner/name:REV or run:OWNER/RUN_ID. \
            Up (the default from a version or run) walks to its run, datasets and their sources; down (the default from \
            a dataset) to derived datasets, runs, versions and the deployments that served them, from when to when.
            """)
    @Argument(help: "A version, dataset:owner/name:REV or run:OWNER/RUN_ID.") var reference: String
    @Flag(help: "Walk toward the data.") var up = false
    @Flag(help: "Walk toward deployments.") var down = false
    @Option(help: "At most this many steps (1-64).") var depth: Int?
    @Option(help: "text (default), json or dot.") var format: String?
    @OptionGroup var client: ClientOptions

    func validate() throws {
        if up && down { throw ValidationError("--up and --down exclude each other") }
        if let depth, !(1...64).contains(depth) { throw ValidationError("--depth must be from 1 to 64") }
        if let format, !["text", "json", "dot"].contains(format) { throw ValidationError("--format must be text, json or dot") }
    }

    func run() async throws {
        let json = client.json || format == "json"
        try await Output.run(json: json) {
            let direction: Bool? = up ? false : (down ? true : nil)
            let graph = try await client.withClient { api -> LineageGraph in
                let path: String
                if reference.hasPrefix("dataset:") {
                    let ref = try DatasetReference(reference)
                    path = "/api/v1/datasets/\(ref.dataset.owner)/\(ref.dataset.name)/revisions/\(ref.revision)"
                } else if reference.hasPrefix("run:") {
                    let parts = reference.dropFirst(4).split(separator: "/").map(String.init)
                    guard parts.count == 2, RunRequest.isValidID(parts[1]) else { throw VesselError.invalidArgument("'\(reference)' must be run:OWNER/RUN_ID") }
                    path = "/api/v1/runs/\(parts[0])/\(parts[1])"
                } else {
                    let version = try await api.resolve(try Reference(reference))
                    path = "/api/v1/models/\(version.model.owner)/\(version.model.name)/versions/\(version.version)"
                }
                return try await api.lineage(path: path, down: direction, depth: depth)
            }
            if json { Output.json(graph) } else if format == "dot" { Output.lines(LineageText.dot(graph)) } else { LineageText.render(graph) }
        }
    }
}

/// The text forms of a lineage graph.
enum LineageText {
    static func render(_ graph: LineageGraph) {
        Output.line("lineage \(graph.direction) from \(graph.root): \(graph.nodes.count) nodes, \(graph.edges.count) edges"
                    + (graph.hidden > 0 ? ", \(graph.hidden) hidden (not readable)" : "") + (graph.truncated ? " (stopped by --depth)" : ""))
        Output.table(["DEPTH", "KIND", "NODE", "DETAIL"], graph.nodes.map { node in
            let detail: String
            switch node.kind {
            case "deployment": detail = "\(node.env ?? "?") \(node.slot ?? "?") from \(node.from ?? "?") until \(node.until ?? "now")"
            case "dataset": detail = node.uri ?? ""
            case "run": detail = node.gitCommit.map { "commit \($0)" } ?? ""
            default: detail = node.digest ?? ""
            }
            return [String(node.depth), node.kind, node.label, detail]
        })
    }

    /// Graphviz: `vessel lineage … --format dot | dot -Tsvg`.
    static func dot(_ graph: LineageGraph) -> String {
        func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        let shapes = ["dataset": "cylinder", "run": "box", "version": "component", "deployment": "house"]
        var lines = ["digraph lineage {", "  rankdir=LR;"]
        for node in graph.nodes {
            lines.append("  \(quoted(node.id)) [label=\(quoted(node.kind + "\n" + node.label)), shape=\(shapes[node.kind] ?? "ellipse")];")
        }
        for edge in graph.edges { lines.append("  \(quoted(edge.from)) -> \(quoted(edge.to)) [label=\(quoted(edge.kind))];") }
        lines.append("}")
        return lines.joined(separator: "\n")
    }
}

/// A version's or run's environment, as `vessel show` and `vessel run show` print it.
enum EnvironmentText {
    static func render(_ environment: VersionEnvironment) {
        let source = { (s: String?) in s == "run" ? " (from its run)" : "" }
        Output.line("image:       \(environment.image ?? "-")\(source(environment.imageSource))")
        guard let entries = environment.requirements else {
            Output.line("requirements: -")
            return
        }
        Output.line("requirements: \(environment.requirementsFile ?? "?"), \(entries.count) entries\(source(environment.requirementsSource))")
        for entry in entries { Output.line("  \(entry.line): \(entry.text)") }
    }
}

/// Local files a command sends: read whole, with a limit, as UTF-8.
enum LocalText {
    static func read(_ path: String, limit: Int, what: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw VesselError.notFound("\(what) file '\(path)' does not exist") }
        guard let data = FileManager.default.contents(atPath: path) else { throw VesselError.invalidArgument("\(what) file '\(path)' cannot be read") }
        guard data.count <= limit else { throw VesselError.invalidArgument("\(what) file '\(path)' is \(data.count) bytes; the limit is \(limit) bytes") }
        guard let text = String(data: data, encoding: .utf8) else { throw VesselError.invalidArgument("\(what) file '\(path)' is not UTF-8 text") }
        return text
    }

    /// A requirements file, refused (exit 2, naming file and line) unless every line is understood.
    static func requirements(_ path: String) throws -> RequirementsUpload {
        let upload = RequirementsUpload(fileName: path, text: try read(path, limit: RunRequest.maxConfigBytes, what: "requirements"))
        _ = try VersionEnvironment.parse(upload)
        return upload
    }
}
