import ArgumentParser
import VesselClient
import VesselCore

/// `--expect-current VERSION|none`.
struct Expectation {
    var current: Int?
    var absent = false

    init(_ text: String?) throws {
        guard let text else { return }
        if text == "none" { absent = true } else { current = try Reference.parseVersion(text) }
    }
}

struct AliasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "alias", abstract: "Move and remove aliases.", subcommands: [Set.self, Remove.self, List.self, History.self])

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every move of an alias: when, who, from, to and why.")
        @Argument(help: "owner/name") var model: String
        @Argument(help: "The alias.") var alias: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let name = try ModelName(model), aliasName = try AliasName(alias)
                let items = try await client.withClient { try await $0.aliasHistory(name, aliasName) }
                if client.json { Output.json(Page(items: items, nextCursor: nil)) } else {
                    Output.table(["SEQ", "TIME", "ACTOR", "FROM", "TO", "REASON"], items.map {
                        [String($0.seq), $0.time, $0.actor, $0.fromVersion.map(String.init) ?? "-", $0.toVersion.map(String.init) ?? "(removed)", $0.reason ?? ""]
                    })
                }
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Point an alias at a version.")
        @Argument(help: "owner/name") var model: String
        @Argument(help: "The alias, e.g. staging.") var alias: String
        @Argument(help: "The version number.") var version: String
        @Option(help: "Only move if the alias points at this version now (or 'none': it must not exist).") var expectCurrent: String?
        @OptionGroup var client: RetryingClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let name = try ModelName(model), aliasName = try AliasName(alias), number = try Reference.parseVersion(version)
                let expect = try Expectation(expectCurrent)
                let info = try await client.withClient {
                    try await $0.setAlias(name, aliasName, SetAliasRequest(version: number, expectCurrent: expect.current, expectAbsent: expect.absent))
                }
                if client.json { Output.json(info) } else { Output.line("\(info.model)@\(info.alias) -> \(info.version) (\(info.digest))") }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove an alias.")
        @Argument(help: "owner/name") var model: String
        @Argument(help: "The alias.") var alias: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let name = try ModelName(model), aliasName = try AliasName(alias)
                try await client.withClient { try await $0.removeAlias(name, aliasName) }
                if client.json { Output.json(["removed": "\(name)@\(aliasName)"]) } else { Output.line("removed \(name)@\(aliasName)") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List a model's aliases.")
        @Argument(help: "owner/name") var model: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let name = try ModelName(model)
                let items = try await client.withClient { try await $0.aliases(name) }
                if client.json { Output.json(Page(items: items, nextCursor: nil)) } else {
                    Output.table(["ALIAS", "VERSION", "UPDATED", "BY"], items.map { [$0.alias, String($0.version), $0.updatedAt, $0.updatedBy] })
                }
            }
        }
    }
}

struct Promote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Promote a version to an alias; protected aliases check role, approval and gates.",
        discussion: "Exit 0 applied, 10 pending approval, 1 refused (5 when only --expect-current failed)."
    )
    @Argument(help: "owner/name") var model: String
    @Argument(help: "The version number.") var version: String
    @Option(help: "The alias to move.") var to: String
    @Option(help: "Why (recorded in the audit log).") var reason: String?
    @Option(help: "Only move if the alias points at this version now (or 'none').") var expectCurrent: String?
    @OptionGroup var client: RetryingClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let name = try ModelName(model), number = try Reference.parseVersion(version), alias = try AliasName(to)
            let expect = try Expectation(expectCurrent)
            let result = try await client.withClient {
                try await $0.promote(name, PromoteRequest(version: number, to: alias.value, expectCurrent: expect.current, expectAbsent: expect.absent, reason: reason))
            }
            try PromotionOutput.report(result, json: client.json)
        }
    }
}

/// Prints a promotion result and exits with its code.
enum PromotionOutput {
    static func report(_ result: PromotionResult, json: Bool) throws {
        if json {
            Output.json(result)
        } else {
            switch result.status {
            case .applied: Output.line("promoted \(result.model):\(result.version) to \(result.alias)")
            case .pending: Output.line("request \(result.requestID ?? "?") created: \(result.model):\(result.version) to \(result.alias) awaits approval (`vessel approve \(result.requestID ?? "ID")`)")
            case .refused:
                Output.line("refused: \(result.model):\(result.version) to \(result.alias)")
                for failure in result.failures { Output.line("  \(failure.rule): \(failure.message)") }
            }
        }
        switch result.status {
        case .applied: return
        case .pending: throw ExitCode(10)
        case .refused: throw ExitCode(result.failures.allSatisfy { $0.rule == "expect-current" } && !result.failures.isEmpty ? 5 : 1)
        }
    }
}

struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Archive, delete or describe versions.", subcommands: [Archive.self, Delete.self, Update.self])

    struct Archive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Archive a version (kept, still pullable, no longer latest).")
        @Argument(help: "owner/name:version") var reference: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let (model, number) = try versionReference(reference)
                let info = try await client.withClient { try await $0.archive(model, version: number) }
                if client.json { Output.json(info) } else { Output.line("archived \(model):\(number)") }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a version (a tombstone; aliases must be moved off it first).")
        @Argument(help: "owner/name:version") var reference: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let (model, number) = try versionReference(reference)
                let info = try await client.withClient { try await $0.delete(model, version: number) }
                if client.json { Output.json(info) } else { Output.line("deleted \(model):\(number)") }
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a version's description (contributor); its content never changes.")
        @Argument(help: "owner/name:version") var reference: String
        @Option(help: "The new description.") var description: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let (model, number) = try versionReference(reference)
                try UpdateVersionRequest(description: description).checkLimits()
                let info = try await client.withClient { try await $0.updateVersion(model, version: number, description: description) }
                if client.json { Output.json(info) } else { Output.line("updated \(model):\(number)") }
            }
        }
    }
}

/// `owner/name:N` only.
func versionReference(_ text: String) throws -> (ModelName, Int) {
    let ref = try Reference(text)
    guard case .version(let number) = ref.selector else {
        throw VesselError.invalidArgument("'\(text)' must name a version number, like owner/name:3")
    }
    return (ref.model, number)
}
