import ArgumentParser
import VesselClient
import VesselCore

/// `vessel search versions`: versions across every model the caller may read (issue 27).
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search", abstract: "Search across models.", subcommands: [SearchVersions.self])
}

struct SearchVersions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "versions",
        abstract: "Versions of every model you may read, newest first: by model text, state, time, creator, or a file's digest.",
        discussion: "--digest sha256:… answers \"which versions contain this file\". Without --limit or --cursor every matching page is fetched."
    )
    @Option(help: "Only models whose owner/name or description contains this text.") var modelSearch: String?
    @Option(help: "Only versions holding a file with this content (sha256:<64 hex>).") var digest: String?
    @OptionGroup var filter: VersionFilterOptions
    @OptionGroup var page: PageOptions
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            var values = filter.values
            values["model_search"] = modelSearch.map { [$0] }
            values["digest"] = digest.map { [$0] }
            let search = try VersionSearch.parse { values[$0] ?? [] }
            let result = try await client.withClient { api in try await page.fetch { try await api.searchVersions(search, limit: $0, cursor: $1) } }
            if client.json { Output.json(result) } else {
                Output.table(["MODEL", "VERSION", "STATE", "ALIASES", "CREATED", "CREATOR", "DIGEST"], result.items.map {
                    [$0.model.description, String($0.version), $0.state.rawValue, $0.aliases.joined(separator: ","), $0.createdAt, $0.createdBy, $0.digest.description]
                })
                page.printNext(result)
            }
        }
    }
}
