import ArgumentParser
import Foundation
import VesselClient
import VesselCore

/// `vessel deploy endpoint add|list|rm` (docs/deployments.md, "Nodes and drift"): serving
/// endpoints the registry polls at `URL/health/version` to catch drift.
extension Deploy {
    struct Endpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "endpoint",
            abstract: "Serving endpoints the registry polls at URL/health/version to catch drift (maintainer to add or remove).",
            discussion: """
                Any model server that answers GET URL/health/version with JSON holding `digest` (sha256:…) can be
                watched; `version` and `state` are read when present. The URL must pass the server's webhook
                destination policy (no link-local or metadata addresses; loopback and private ranges only when
                `vessel serve --webhook-allow` allows them). Exit 2 for a refused URL, 3 no such deployment or
                endpoint, 4 not a maintainer, 5 the endpoint is there already.
                """,
            subcommands: [Add.self, List.self, Remove.self]
        )

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Watch a serving endpoint of a deployment.")
            @Argument(help: "owner/name") var model: String
            @Option(help: "The environment.") var env: String
            @Argument(help: "The endpoint's base URL (http:// or https://); the registry polls URL/health/version.") var url: String
            @Option(help: "The pool it serves: live (default, follows every completed rollout and rollback), blue or green.") var slot: String?
            @OptionGroup var client: ClientOptions

            func run() async throws {
                try await Output.run(json: client.json) {
                    let name = try ModelName(model), environment = try DeployOptions.environment(env)
                    let slot = try slot.map { try NodeSlot(parsing: $0) }
                    let info = try await client.withClient { try await $0.addEndpoint(name, env: environment, url: url, slot: slot) }
                    if client.json { return Output.json(info) }
                    Output.line("watching \(info.url) (\(info.slot.rawValue)) of \(name) in \(environment)")
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "The endpoints of a deployment and their drift.")
            @Argument(help: "owner/name") var model: String
            @Option(help: "The environment.") var env: String
            @OptionGroup var client: RetryingClientOptions

            func run() async throws {
                try await Output.run(json: client.json) {
                    let name = try ModelName(model), environment = try DeployOptions.environment(env)
                    let items = try await client.withClient { try await $0.endpoints(name, env: environment) }
                    if client.json { return Output.json(Page(items: items, nextCursor: nil)) }
                    Output.table(["URL", "SLOT", "DRIFT", "SERVES", "LAST SEEN", "ADDED BY"], items.map {
                        [$0.url, $0.slot.rawValue, $0.drift?.rawValue ?? "-", NodeOutput.version($0.actual), $0.lastSeen ?? "-", $0.addedBy]
                    })
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "rm", abstract: "Stop watching an endpoint.")
            @Argument(help: "owner/name") var model: String
            @Option(help: "The environment.") var env: String
            @Argument(help: "The endpoint's URL, as added.") var url: String
            @OptionGroup var client: ClientOptions

            func run() async throws {
                try await Output.run(json: client.json) {
                    let name = try ModelName(model), environment = try DeployOptions.environment(env)
                    try await client.withClient { try await $0.removeEndpoint(name, env: environment, url: url) }
                    if client.json { return Output.json(["removed": url]) }
                    Output.line("no longer watching \(url) of \(name) in \(environment)")
                }
            }
        }
    }
}

/// How nodes read in human output.
enum NodeOutput {
    static func version(_ version: NodeVersion?) -> String {
        guard let version else { return "-" }
        return version.version.map { "v\($0) " } .map { $0 + String(version.digest.description.prefix(19)) } ?? String(version.digest.description.prefix(19))
    }

    static func rows(_ nodes: [NodeRecord]) -> [[String]] {
        nodes.map { [$0.node, $0.slot.rawValue, $0.drift?.rawValue ?? "-", version($0.desired), version($0.actual), $0.reportedState ?? "-", $0.lastSeen ?? "-"] }
    }

    static let header = ["NODE", "SLOT", "DRIFT", "DESIRED", "ACTUAL", "STATE", "LAST SEEN"]
}
