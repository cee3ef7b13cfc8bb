import ArgumentParser
import VesselClient
import VesselCore

struct PrincipalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "principal", abstract: "Manage users and service accounts.", subcommands: [Add.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a principal.")
        @Argument(help: "The principal's name.") var name: String
        @Flag(help: "A service account (a bot such as CI) rather than a person.") var service = false
        @Option(name: .customLong("cert-subject"), help: ArgumentHelp(
            "A client certificate that stands for this principal over mutual TLS (repeatable): its subject, most specific first ('CN=ci-bot,O=Example'), or a SAN 'URI:spiffe://…' / 'DNS:bot.example'.",
            valueName: "subject"))
        var certSubjects: [String] = []
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let subjects = try certSubjects.map { text throws(VesselError) in try CertificateSubject.normalize(text) }
                let info = try await client.withClient { try await $0.createPrincipal(name, kind: service ? .service : .user, certSubjects: subjects) }
                if client.json { Output.json(info) } else {
                    Output.line("created \(info.kind.rawValue) '\(info.name)'" + (subjects.isEmpty ? "" : " for client certificates \(subjects.joined(separator: "; "))"))
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List principals.")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let items = try await client.withClient { try await $0.principals() }
                if client.json { Output.json(Page(items: items, nextCursor: nil)) } else {
                    Output.table(["NAME", "KIND", "CREATED"], items.map { [$0.name, $0.kind.rawValue, $0.createdAt] })
                }
            }
        }
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Manage API tokens.", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token; it is printed once.")
        @Option(help: "The principal the token belongs to.") var principal: String
        @Option(help: "A label for the token.") var name: String?
        @Option(help: "Lifetime such as 30d, 12h or 90m (default: no expiry).") var expires: String?
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let seconds = try expires.map { try Timestamp.parseDuration($0) }
                let created = try await client.withClient { try await $0.createToken(principal: principal, name: name, expiresInSeconds: seconds) }
                if client.json { Output.json(created) } else {
                    Output.line(created.token)
                    Output.diagnostic("token \(created.id) for \(created.principal)\(created.expiresAt.map { ", expires \($0)" } ?? ""); it is shown only now")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let items = try await client.withClient { try await $0.tokens() }
                if client.json { Output.json(Page(items: items, nextCursor: nil)) } else {
                    Output.table(["ID", "PRINCIPAL", "NAME", "CREATED", "EXPIRES", "REVOKED"], items.map {
                        [$0.id, $0.principal, $0.name ?? "-", $0.createdAt, $0.expiresAt ?? "never", $0.revokedAt ?? "-"]
                    })
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by id.")
        @Argument(help: "The token id (see `vessel token list`).") var id: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                try await client.withClient { try await $0.revokeToken(id) }
                if client.json { Output.json(["revoked": id]) } else { Output.line("revoked \(id)") }
            }
        }
    }
}
