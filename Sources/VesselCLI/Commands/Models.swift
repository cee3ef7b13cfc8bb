import ArgumentParser
import VesselClient
import VesselCore

struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "Manage models.", subcommands: [Create.self, Update.self])

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

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a model's description or tags (contributor).")
        @Argument(help: "owner/name") var model: String
        @Option(help: "The new description.") var description: String?
        @Option(help: "A tag to add (repeatable).") var addTag: [String] = []
        @Option(help: "A tag to remove (repeatable).") var removeTag: [String] = []
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let name = try ModelName(model)
                guard description != nil || !addTag.isEmpty || !removeTag.isEmpty else {
                    throw VesselError.invalidArgument("nothing to change: give --description, --add-tag or --remove-tag")
                }
                let update = UpdateModelRequest(description: description, addTags: addTag.isEmpty ? nil : addTag, removeTags: removeTag.isEmpty ? nil : removeTag)
                try update.checkLimits()
                let info = try await client.withClient { try await $0.updateModel(name, update) }
                if client.json { Output.json(info) } else {
                    Output.line("updated model \(info.model): tags \(info.tags.isEmpty ? "-" : info.tags.joined(separator: ","))")
                }
            }
        }
    }
}

struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List or search models.",
        discussion: "Without --limit or --cursor every matching page is fetched; with either, one page and its next cursor."
    )
    @Option(help: "Only models whose owner/name or description contains this text (case-insensitive).") var search: String?
    @Option(help: "Only models of this owner.") var owner: String?
    @Option(help: "Only models carrying this tag (repeatable: every tag).") var tag: [String] = []
    @Option(help: "name (A-Z), created or updated (newest first).") var sort: String?
    @OptionGroup var page: PageOptions
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            var values: [String: [String]] = ["tag": tag]
            values["search"] = search.map { [$0] }
            values["owner"] = owner.map { [$0] }
            values["sort"] = sort.map { [$0] }
            let query = try ModelQuery.parse { values[$0] ?? [] }
            let result = try await client.withClient { api in try await page.fetch { try await api.models(query, limit: $0, cursor: $1) } }
            if client.json { Output.json(result) } else {
                Output.table(["MODEL", "VERSIONS", "LATEST", "TAGS", "DESCRIPTION"], result.items.map {
                    [$0.model.description, String($0.versions), $0.latestVersion.map(String.init) ?? "-", $0.tags.joined(separator: ","), $0.description]
                })
                page.printNext(result)
            }
        }
    }
}

struct Versions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a model's versions, newest first, optionally filtered.",
        discussion: "Without --limit or --cursor every matching page is fetched; with either, one page and its next cursor."
    )
    @Argument(help: "owner/name") var model: String
    @OptionGroup var filter: VersionFilterOptions
    @OptionGroup var page: PageOptions
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let name = try ModelName(model)
            let versionFilter = try filter.parsed()
            let result = try await client.withClient { api in try await page.fetch { try await api.versions(name, filter: versionFilter, limit: $0, cursor: $1) } }
            if client.json { Output.json(result) } else {
                Output.table(["VERSION", "STATE", "FILES", "SIZE", "ALIASES", "CREATED", "DIGEST"], result.items.map {
                    [String($0.version), $0.state.rawValue, String($0.files), Output.bytes($0.size), $0.aliases.joined(separator: ","), $0.createdAt, $0.digest.description]
                })
                page.printNext(result)
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
                let lineage = try await api.versionLineage(version.model, version: version.version)
                version.run = lineage.run
                version.environment = lineage.environment
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
            Output.line("run:         \(version.run ?? "-")")
            EnvironmentText.render(version.environment ?? VersionEnvironment())
            Output.line("")
            Output.table(["PATH", "SIZE", "DIGEST"], (version.manifest ?? []).map { [$0.path, Output.bytes($0.size), $0.digest.description] })
        }
    }
}
