import ArgumentParser
import VesselClient
import VesselCore

/// `vessel peers list` (docs/peers.md): the peers the registry knows are live.
struct PeersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "peers", abstract: "The peers that share blobs (admin).", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List live peers: where they listen, who announced them, how many blobs they hold, until when.")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let items = try await client.withClient { try await $0.peers() }
                if client.json { Output.json(Page(items: items, nextCursor: nil)) } else {
                    Output.table(["ID", "URL", "PRINCIPAL", "BLOBS", "EXPIRES", "SUSPECT UNTIL"],
                                 items.map { [$0.id, $0.url, $0.principal, String($0.blobs), $0.expiresAt, $0.suspectUntil ?? "-"] })
                }
            }
        }
    }
}
