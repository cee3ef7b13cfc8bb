import ArgumentParser
import Foundation
import VesselClient
import VesselCore

struct Grant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Grant a role on a scope: viewer < contributor < maintainer < admin (admin).")
    @Argument(help: "The principal.") var principal: String
    @Argument(help: "viewer, contributor, maintainer or admin.") var role: String
    @Option(help: "'*', 'owner/*' or 'owner/name'.") var scope: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let request = GrantRequest(principal: principal, role: try Role(parsing: role), scope: try Scope(scope).description)
            let info = try await client.withClient { try await $0.grant(request) }
            if client.json { Output.json(info) } else { Output.line("granted \(info.role.rawValue) on \(info.scope) to \(info.principal)") }
        }
    }
}

struct Revoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Revoke a role on a scope (admin).")
    @Argument(help: "The principal.") var principal: String
    @Argument(help: "The role.") var role: String
    @Option(help: "'*', 'owner/*' or 'owner/name'.") var scope: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let request = GrantRequest(principal: principal, role: try Role(parsing: role), scope: try Scope(scope).description)
            try await client.withClient { try await $0.revoke(request) }
            if client.json { Output.json(["revoked": "\(role) on \(scope) from \(principal)"]) } else { Output.line("revoked \(role) on \(scope) from \(principal)") }
        }
    }
}

struct Grants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List grants (admin).")
    @Option(help: "Only this principal's grants.") var principal: String?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let items = try await client.withClient { try await $0.grants(principal: principal) }
            if client.json { Output.json(Page(items: items, nextCursor: nil)) } else {
                Output.table(["PRINCIPAL", "ROLE", "SCOPE", "GRANTED", "BY"], items.map { [$0.principal, $0.role.rawValue, $0.scope, $0.createdAt, $0.createdBy] })
            }
        }
    }
}

struct Protect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Protect an alias under a scope: who may move it, approval, gates (admin).")
    @Argument(help: "'*', 'owner/*' or 'owner/name'.") var scope: String
    @Argument(help: "The alias, e.g. production.") var alias: String
    @Option(help: "The least role that may move it.") var roles: String = "maintainer"
    @Flag(help: "Moves need a second principal's approval.") var requireApproval = false
    @Option(help: "scan-clean, safetensors-only, lineage (a linked run with a dataset), signed-by:KEY, check:NAME, 'check:NAME@PRINCIPAL|PRINCIPAL' (only they may satisfy it), 'metric:KEY>=VALUE' (repeatable). The version's creator never satisfies check: or metric: unless named after @.") var gate: [String] = []
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let request = ProtectRequest(scope: try Scope(scope).description, alias: try AliasName(alias).value, role: try Role(parsing: roles), requireApproval: requireApproval, gates: try gate.map { try Gate($0).description })
            let info = try await client.withClient { try await $0.protect(request) }
            if client.json { Output.json(info) } else { Output.line("protected \(info.scope) \(info.alias): \(info.role.rawValue)\(info.requireApproval ? ", approval" : "")\(info.gates.isEmpty ? "" : ", gates " + info.gates.joined(separator: " "))") }
        }
    }
}

struct Unprotect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove an alias protection (admin).")
    @Argument(help: "The scope.") var scope: String
    @Argument(help: "The alias.") var alias: String
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let scopeText = try Scope(scope).description, aliasText = try AliasName(alias).value
            try await client.withClient { try await $0.unprotect(scope: scopeText, alias: aliasText) }
            if client.json { Output.json(["unprotected": "\(scopeText) \(aliasText)"]) } else { Output.line("unprotected \(scopeText) \(aliasText)") }
        }
    }
}

struct Protections: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List alias protections.")
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let items = try await client.withClient { try await $0.protections() }
            if client.json { Output.json(Page(items: items, nextCursor: nil)) } else {
                Output.table(["SCOPE", "ALIAS", "ROLE", "APPROVAL", "GATES"], items.map { [$0.scope, $0.alias, $0.role.rawValue, $0.requireApproval ? "yes" : "no", $0.gates.joined(separator: " ")] })
            }
        }
    }
}

struct Approve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Approve a promotion request; every rule is checked again now.",
                                                    discussion: "Exit 0 applied, 1 refused (or a deploy whose version the deployment's agents report they cannot run).")
    @Argument(help: "The request id.") var requestID: String
    @Option(help: "Why.") var reason: String?
    @Flag(help: "Approve a deploy even though agents of the deployment report an environment its version's requirements or image fail (audited).")
    var forceIncompatible = false
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let result = try await client.withClient { try await $0.decide(requestID: requestID, approve: true, reason: reason, forceIncompatible: forceIncompatible) }
            try PromotionOutput.report(result, json: client.json)
        }
    }
}

struct Reject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reject a promotion request.")
    @Argument(help: "The request id.") var requestID: String
    @Option(help: "Why.") var reason: String?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let result = try await client.withClient { try await $0.decide(requestID: requestID, approve: false, reason: reason) }
            if client.json { Output.json(result) } else { Output.line("rejected \(requestID)") }
            if result.failures.contains(where: { $0.rule == "role" }) { throw ExitCode(1) }
        }
    }
}

struct Requests: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List promotion requests.")
    @Option(help: "Only this model's requests.") var model: String?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let name = try model.map { try ModelName($0) }
            let items = try await client.withClient { try await $0.promotionRequests(model: name) }
            if client.json { Output.json(Page(items: items, nextCursor: nil)) } else {
                Output.table(["ID", "MODEL", "VERSION", "ALIAS", "STATUS", "BY", "CREATED"], items.map { [$0.id, $0.model.description, String($0.version), $0.alias, $0.status, $0.requestedBy, $0.createdAt] })
            }
        }
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "CI checks reported against a version's digest.", subcommands: [Report.self])

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Report a check result (and metrics) for a version.")
        @Argument(help: "owner/name:version") var reference: String
        @Option(help: "The check name, e.g. eval.") var name: String
        @Option(help: "passed or failed.") var status: String
        @Option(help: "KEY=VALUE (repeatable).") var metric: [String] = []
        @Option(help: "A link to the run.") var url: String?
        @OptionGroup var client: RetryingClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let (model, version) = try versionReference(reference)
                var metrics: [String: Double] = [:]
                for item in metric {
                    let parts = item.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, let value = Double(parts[1]) else { throw VesselError.invalidArgument("metric '\(item)' must look like KEY=NUMBER") }
                    metrics[String(parts[0])] = value
                }
                let info = try await client.withClient { try await $0.reportCheck(model, version: version, CheckReportRequest(name: name, status: status, metrics: metrics, url: url)) }
                if client.json { Output.json(info) } else { Output.line("reported \(info.name)=\(info.status) for \(info.model):\(info.version) (\(info.digest))") }
            }
        }
    }
}

struct Resolve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "What an alias points at, now or at a past time (from the audit chain).")
    @Argument(help: "owner/name@alias") var reference: String
    @Option(help: "An RFC 3339 time.") var at: String?
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let ref = try Reference(reference)
            guard case .alias(let alias) = ref.selector else { throw VesselError.invalidArgument("'\(reference)' must name an alias, like owner/name@production") }
            if let at, Timestamp.parse(at) == nil { throw VesselError.invalidArgument("--at must be an RFC 3339 time such as 2026-11-29T08:00:00Z") }
            let resolved = try await client.withClient { try await $0.resolveAlias(ref.model, alias, at: at) }
            if client.json { Output.json(resolved) } else { Output.line("\(resolved.model)@\(resolved.alias) -> \(resolved.version) (\(resolved.digest))") }
        }
    }
}
