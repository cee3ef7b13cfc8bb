import ArgumentParser
import VesselClient
import VesselCore

struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "Manage models.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a model (push also creates it on first use).")
        @Argument(help: "owner/name") var model: String
        @Option(help: "A description.") var description: String?
        @Option(help: "A tag (repeatable).") var tag: [String] = []
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let name = try ModelName(model)
                let info = try await client.withClient { try await $0.createModel(name, description: description, tags: tag) }
                if client.json { Output.json(info) } else { Output.line("created model \(info.model)") }
            }
        }
    }
}

struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List models.")
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let items = try await client.withClient { api in
                var all: [ModelInfo] = []
                var cursor: String?
                repeat {
                    let page = try await api.models(limit: 500, cursor: cursor)
                    all += page.items
                    cursor = page.nextCursor
                } while cursor != nil
                return all
            }
            if client.json { Output.json(Page(items: items, nextCursor: nil)) } else {
                Output.table(["MODEL", "VERSIONS", "LATEST", "DESCRIPTION"], items.map {
                    [$0.model.description, String($0.versions), $0.latestVersion.map(String.init) ?? "-", $0.description]
                })
            }
        }
    }
}

struct Versions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List a model's versions, newest first.")
    @Argument(help: "owner/name") var model: String
    @Option(help: "Only versions with at least this many parameters.") var minParameters: UInt64?
    @Option(help: "Only versions with at most this many parameters.") var maxParameters: UInt64?
    @Option(help: "Only versions holding tensors of this dtype (e.g. BF16).") var dtype: String?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let name = try ModelName(model)
            let items = try await client.withClient { api in
                var all: [VersionInfo] = []
                var cursor: String?
                repeat {
                    let page = try await api.versions(name, filter: VersionFilter(minParameters: minParameters, maxParameters: maxParameters, dtype: dtype), limit: 500, cursor: cursor)
                    all += page.items
                    cursor = page.nextCursor
                } while cursor != nil
                return all
            }
            if client.json { Output.json(Page(items: items, nextCursor: nil)) } else {
                Output.table(["VERSION", "STATE", "FILES", "SIZE", "ALIASES", "CREATED", "DIGEST"], items.map {
                    [String($0.version), $0.state.rawValue, String($0.files), Output.bytes($0.size), $0.aliases.joined(separator: ","), $0.createdAt, $0.digest.description]
                })
            }
        }
    }
}

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a version: state, digest, aliases, findings, signatures and manifest.")
    @Argument(help: "owner/name, owner/name@alias or owner/name:version") var reference: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let ref = try Reference(reference)
            let version = try await client.withClient { api in
                var version = try await api.resolve(ref)
                version.signatures = try await api.signatures(version.model, version: version.version)
                return version
            }
            if client.json { Output.json(version); return }
            Output.line("\(version.model):\(version.version)  \(version.state.rawValue)")
            Output.line("digest:      \(version.digest)")
            Output.line("manifest:    \(version.manifestDigest)")
            Output.line("created:     \(version.createdAt) by \(version.createdBy)")
            if !version.description.isEmpty { Output.line("description: \(version.description)") }
            Output.line("aliases:     \(version.aliases.isEmpty ? "-" : version.aliases.joined(separator: ", "))")
            Output.line("files:       \(version.files) (\(Output.bytes(version.size)))")
            if let summary = version.summary {
                let dtypes = summary.dtypes.keys.sorted().map { "\($0) \(summary.dtypes[$0]?.parameters ?? 0)" }.joined(separator: ", ")
                Output.line("parameters:  \(summary.parameters) in \(summary.tensorCount) tensors, \(summary.shardCount) shard(s), \(Output.bytes(summary.tensorBytes)) (\(dtypes))")
                if let metadata = summary.metadata, !metadata.isEmpty {
                    Output.line("metadata:    " + metadata.keys.sorted().map { "\($0)=\(metadata[$0] ?? "")" }.joined(separator: ", "))
                }
            }
            if let scan = version.scan {
                let counts = Dictionary(grouping: scan, by: \.verdict).mapValues(\.count)
                Output.line("scan:        " + counts.keys.sorted().map { "\(counts[$0] ?? 0) \($0)" }.joined(separator: ", "))
            }
            if !version.findings.isEmpty {
                Output.line("findings:")
                for finding in version.findings {
                    Output.line("  [\(finding.validator)] \(finding.code)\(finding.path.map { " \($0)" } ?? ""): \(finding.message)")
                }
            }
            let signatures = version.signatures ?? []
            Output.line("signatures:  \(signatures.isEmpty ? "-" : "")")
            for signature in signatures {
                let trust = signature.status == .trusted ? "trusted, key \(signature.keyName ?? "?")" : "unverified, key hint \(signature.keyHint.isEmpty ? "none" : signature.keyHint)"
                Output.line("  \(signature.id)  \(trust)  \(signature.signedAt) by \(signature.signedBy)")
            }
            Output.line("")
            Output.table(["PATH", "SIZE", "DIGEST"], (version.manifest ?? []).map { [$0.path, Output.bytes($0.size), $0.digest.description] })
        }
    }
}
