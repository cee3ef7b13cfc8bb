import ArgumentParser
import Foundation
import VesselClient
import VesselCore

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the public keys the registry trusts for signatures (admin).",
        subcommands: [Add.self, List.self, Remove.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Trust a PEM public key under a name.")
        @Argument(help: "The key's name (as in signed-by:NAME).") var name: String
        @Argument(help: "The PEM public key file (`openssl ec -in key.pem -pubout`).") var publicKey: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                guard let data = FileManager.default.contents(atPath: publicKey) else {
                    throw VesselError.invalidArgument("cannot read the public key file '\(publicKey)'")
                }
                let pem = String(decoding: data, as: UTF8.self)
                let info = try await client.withClient { try await $0.addTrustedKey(name: name, publicKeyPEM: pem) }
                if client.json { Output.json(info) } else { Output.line("trusted key '\(info.name)' (\(info.curve), hint \(info.hint))") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the trusted keys.")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let items = try await client.withClient { try await $0.trustedKeys() }
                if client.json { Output.json(Page(items: items, nextCursor: nil)) } else {
                    Output.table(["NAME", "CURVE", "HINT", "ADDED", "BY"], items.map { [$0.name, $0.curve, $0.hint, $0.createdAt, $0.createdBy] })
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Stop trusting a key; its signatures become unverified.")
        @Argument(help: "The key's name.") var name: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                try await client.withClient { try await $0.removeTrustedKey(name) }
                if client.json { Output.json(["removed": name]) } else { Output.line("removed key '\(name)'") }
            }
        }
    }
}
