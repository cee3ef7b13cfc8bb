import ArgumentParser
import VesselClient
import VesselCore

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention", abstract: "Retention policies: which versions the lifecycle job deletes (docs/retention.md).",
        subcommands: [RetentionSet.self, RetentionList.self, RetentionRemove.self])
}

struct RetentionSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Set the policy of a scope, replacing its previous one (admin).")
    @Argument(help: "'*', 'owner/*' or 'owner/name'.") var scope: String
    @Option(help: "Keep each model's newest N versions.") var keepLast: Int?
    @Option(help: "Keep versions younger than this (90s, 30m, 24h, 7d).") var keepFor: String?
    @Option(help: "Delete quarantined versions older than this whatever --keep-last says, unless held.") var deleteQuarantinedAfter: String?
    @Option(help: "Expire drafts never committed after this.") var draftsExpireAfter: String?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let request = RetentionPolicyRequest(scope: scope, keepLast: keepLast, keepFor: keepFor, deleteQuarantinedAfter: deleteQuarantinedAfter, draftsExpireAfter: draftsExpireAfter)
            _ = try request.validated()
            let info = try await client.withClient { try await $0.setRetentionPolicy(request) }
            if client.json { Output.json(info) } else { Output.line("retention policy of \(info.scope) set") }
        }
    }
}

struct RetentionList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List retention policies.")
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let items = try await client.withClient { try await $0.retentionPolicies() }
            if client.json { Output.json(Page(items: items, nextCursor: nil)) } else {
                func d(_ s: Int64?) -> String { s.map(RetentionRules.text) ?? "-" }
                Output.table(["SCOPE", "KEEP-LAST", "KEEP-FOR", "QUARANTINED", "DRAFTS", "UPDATED", "BY"],
                             items.map { [$0.scope, $0.keepLast.map(String.init) ?? "-", d($0.keepFor), d($0.deleteQuarantinedAfter), d($0.draftsExpireAfter), $0.updatedAt, $0.updatedBy] })
            }
        }
    }
}

struct RetentionRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove the policy of a scope (admin).")
    @Argument(help: "'*', 'owner/*' or 'owner/name'.") var scope: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let parsed = try Scope(scope)
            try await client.withClient { try await $0.removeRetentionPolicy(scope: parsed.description) }
            if client.json { Output.json(["removed": parsed.description]) } else { Output.line("retention policy of \(parsed) removed") }
        }
    }
}

/// `owner/name:N`: a hold names one version.
func heldVersion(_ text: String) throws -> (ModelName, Int) {
    let reference = try Reference(text)
    guard case .version(let number) = reference.selector else {
        throw VesselError.invalidArgument("'\(text)' must name a version: owner/name:N")
    }
    return (reference.model, number)
}

struct Hold: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Hold a version: no retention policy deletes it (maintainer).")
    @Argument(help: "owner/name:N") var reference: String
    @Option(help: "Why it is held (recorded in the audit log).") var reason: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let (model, version) = try heldVersion(reference)
            let info = try await client.withClient { try await $0.hold(model, version: version, reason: reason) }
            if client.json { Output.json(info) } else { Output.line("held \(info.model):\(info.version)") }
        }
    }
}

struct Unhold: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Release a hold (maintainer).")
    @Argument(help: "owner/name:N") var reference: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let (model, version) = try heldVersion(reference)
            try await client.withClient { try await $0.unhold(model, version: version) }
            if client.json { Output.json(["released": "\(model):\(version)"]) } else { Output.line("released \(model):\(version)") }
        }
    }
}

struct GCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gc", abstract: "The lifecycle job: apply retention policies, expire drafts, sweep blobs.",
                                                    subcommands: [GCRun.self, GCStatus.self])
}

struct GCRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run it now, or say what it would do (admin; exit 5 while another run holds the lease).")
    @Flag(help: "Change nothing; list what a run would delete and sweep.") var dryRun = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let report = try await client.withClient { try await $0.runGC(dryRun: dryRun) }
            if client.json { Output.json(report) } else {
                for version in report.versions { Output.line("\(dryRun ? "would delete" : "deleted") \(version.model):\(version.version): \(version.reason)") }
                Output.line("\(report.versions.count) versions, \(report.drafts) drafts, \(report.blobs) blobs, \(report.bytes) bytes\(dryRun ? " (dry run)" : "")")
                if let skipped = report.sweepSkipped { Output.line("sweep skipped: \(skipped)") }
            }
        }
    }
}

struct GCStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "The last runs (admin).")
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let runs = try await client.withClient { try await $0.gcRuns() }
            if client.json { Output.json(runs) } else {
                Output.table(["STARTED", "DRY", "VERSIONS", "DRAFTS", "BLOBS", "BYTES", "MS"],
                             runs.items.map { [$0.startedAt, $0.dryRun ? "yes" : "no", String($0.versions), String($0.drafts), String($0.blobs), String($0.bytes), String($0.durationMs)] })
            }
        }
    }
}
