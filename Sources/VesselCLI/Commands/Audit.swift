import ArgumentParser
import VesselClient
import VesselCore

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Read and verify the hash-chained audit log.", subcommands: [List.self, Verify.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List audit entries, oldest first.")
        @Option(help: "Only entries about this model (owner/name).") var model: String?
        @Option(help: "Only entries by this actor (a principal's name).") var actor: String?
        @Option(help: "Only entries of this action (model.push) or action family (deployment).") var action: String?
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let name = try model.map { try ModelName($0) }
                let items = try await client.withClient { api in
                    var all: [AuditEntryInfo] = []
                    var cursor: String?
                    repeat {
                        let page: Page<AuditEntryInfo>
                        if let name {
                            page = try await api.modelAudit(name, actor: actor, action: action, cursor: cursor)
                        } else {
                            page = try await api.auditEntries(model: nil, actor: actor, action: action, cursor: cursor)
                        }
                        all += page.items
                        cursor = page.nextCursor
                    } while cursor != nil
                    return all
                }
                if client.json { Output.json(Page(items: items, nextCursor: nil)) } else {
                    Output.table(["SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "BEFORE -> AFTER", "REASON"], items.map {
                        [String($0.seq), $0.time, $0.actor, $0.action, $0.target, "\($0.before ?? "-") -> \($0.after ?? "-")", $0.reason ?? ""]
                    })
                }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recompute the chain; exit 1 at the first broken entry.")
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let result = try await client.withClient { try await $0.verifyAudit() }
                if client.json { Output.json(result) } else if result.ok {
                    Output.line("audit chain intact: \(result.entries) entries")
                } else {
                    Output.line("audit chain broken at entry \(result.brokenAt ?? 0): \(result.reason ?? "")")
                }
                if !result.ok { throw ExitCode(1) }
            }
        }
    }
}
