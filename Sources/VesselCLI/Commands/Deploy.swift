import ArgumentParser
import Foundation
import VesselClient
import VesselCore

/// `vessel deploy REF --env ENV …` and `vessel deploy advance|rollback|report|status|history|endpoint`
/// (docs/deployments.md).
struct Deploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Deploy versions to environments: blue and green pools, canary steps, instant rollback.",
        discussion: """
            `vessel deploy REF --env ENV` starts a rollout (the `start` subcommand is the default).
            Exit 0 applied, 10 pending approval, 1 refused by a rule or incompatible with the environment
            the deployment's agents report (each failing requirement named; --force-incompatible deploys
            anyway, audited); 5 for a revision mismatch, a rollout
            already in progress (without --replace) or nothing to roll back; 2 for bad input.
            Without --expect-revision each change sends the revision it read, so of two callers racing
            the same change exactly one applies. Every subcommand but `report` waits out an unreachable
            server (--retry-for): a change sent again never applies twice, since it names the revision
            it read (a repeat whose first attempt went through answers exit 5; `deploy status` shows it).
            """,
        subcommands: [Start.self, Advance.self, Rollback.self, Report.self, Status.self, History.self, Endpoint.self],
        defaultSubcommand: Start.self
    )

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start",
            abstract: "Put a version into an environment: into blue of an empty one (live at once), else into the pool that is not live, at weight 0."
        )
        @Argument(help: "owner/name (latest ready), owner/name:VERSION or owner/name@ALIAS.") var reference: String
        @Option(help: "The environment, e.g. prod-eu.") var env: String
        @Option(help: "The candidate's weights, strictly increasing from 1 to 100 and ending at 100.") var steps: String?
        @Option(help: "A check that must have passed against the candidate before its first non-zero step (repeatable); NAME or 'NAME@PRINCIPAL|PRINCIPAL'.") var smoke: [String] = []
        @Option(help: "Roll back on its own when errors ÷ requests since the step began exceed this fraction (0.02 = 2%).") var maxErrorRate: Double?
        @Option(help: "Roll back on its own when the highest reported p99 since the step began exceeds this many milliseconds.") var maxP99Ms: Double?
        @Option(help: "Neither rule applies before this many requests were reported since the step began (default 100).") var minRequests: Int?
        @Flag(help: "Replace a candidate whose rollout is in progress.") var replace = false
        @Flag(help: "Deploy even if the version is incompatible with the environment the deployment's agents report (audited with every failing requirement).")
        var forceIncompatible = false
        @Option(help: "Apply only at this revision (0: the environment holds no deployment yet); default: the revision read first.") var expectRevision: Int?
        @Option(help: "Why (recorded in the audit log and the history).") var reason: String?
        @OptionGroup var client: RetryingClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let ref = try Reference(reference)
                let environment = try DeployOptions.environment(env)
                let weights = try steps.map(DeployOptions.steps)
                let (version, result) = try await client.withClient { api in
                    let version: Int
                    if case .version(let number) = ref.selector { version = number } else { version = try await api.resolve(ref).version }
                    var revision = expectRevision
                    if revision == nil { revision = try await api.deploymentIfAny(ref.model, env: environment)?.revision ?? 0 }
                    let request = DeployRequest(version: version, steps: weights, smoke: smoke.isEmpty ? nil : smoke, maxErrorRate: maxErrorRate, maxP99Ms: maxP99Ms,
                                                minRequests: minRequests, replace: replace ? true : nil, expectRevision: revision, reason: reason,
                                                forceIncompatible: forceIncompatible ? true : nil)
                    return (version, try await api.deploy(ref.model, env: environment, request))
                }
                try DeployOutput.report(result, verb: "deployed \(result.model):\(version) to \(result.env)", json: client.json)
            }
        }
    }

    struct Advance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move the candidate to the next step's weight; at 100% the live pool flips to it.")
        @Argument(help: "owner/name") var model: String
        @Option(help: "The environment.") var env: String
        @Option(help: "Apply only at this revision; default: the revision read first.") var expectRevision: Int?
        @Option(help: "Why.") var reason: String?
        @OptionGroup var client: RetryingClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let name = try ModelName(model), environment = try DeployOptions.environment(env)
                let result = try await client.withClient { api in
                    var revision = expectRevision
                    if revision == nil { revision = try await api.deployment(name, env: environment).revision }
                    return try await api.advanceDeployment(name, env: environment, DeploymentChangeRequest(expectRevision: revision, reason: reason))
                }
                try DeployOutput.report(result, verb: result.deployment?.status == .completed ? "completed" : "advanced", json: client.json)
            }
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take the candidate's traffic away, or flip the live pool back after a completed rollout.")
        @Argument(help: "owner/name") var model: String
        @Option(help: "The environment.") var env: String
        @Option(help: "Apply only at this revision; default: the revision read first.") var expectRevision: Int?
        @Option(help: "Why (recorded in the audit log, the history and the event).") var reason: String?
        @OptionGroup var client: RetryingClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let name = try ModelName(model), environment = try DeployOptions.environment(env)
                let result = try await client.withClient { api in
                    var revision = expectRevision
                    if revision == nil { revision = try await api.deployment(name, env: environment).revision }
                    return try await api.rollbackDeployment(name, env: environment, DeploymentChangeRequest(expectRevision: revision, reason: reason))
                }
                try DeployOutput.report(result, verb: "rolled back", json: client.json)
            }
        }
    }

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report what serving observed on a pool since the last report; a candidate crossing a threshold is rolled back at once.")
        @Argument(help: "owner/name") var model: String
        @Option(help: "The environment.") var env: String
        @Option(help: "blue or green.") var slot: String
        @Option(help: "Requests served since the last report.") var requests: Int
        @Option(help: "Of those, errors (5xx and upstream failures).") var errors: Int
        @Option(help: "Their p99 latency in milliseconds.") var p99Ms: Double?
        @Option(help: "The digest the pool served; a report for another digest than the pool holds is ignored as stale.") var digest: String?
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let name = try ModelName(model), environment = try DeployOptions.environment(env)
                let request = DeploymentReportRequest(slot: try DeploymentSlot(parsing: slot).rawValue, digest: try digest.map { try Digest($0) },
                                                      requests: requests, errors: errors, p99Ms: p99Ms)
                try request.validate()
                let answer = try await client.withClient { try await $0.reportDeployment(name, env: environment, request) }
                if client.json { return Output.json(answer) }
                let report = answer.report
                if report.stale {
                    Output.line("ignored: the \(report.slot.rawValue) pool no longer holds what the report names")
                } else if report.rolledBack {
                    Output.line("rolled back \(answer.result.model) in \(answer.result.env): \(report.reason ?? "")")
                } else if report.counted {
                    Output.line("reported on the candidate (\(report.slot.rawValue)): \(report.requests ?? 0) requests, \(report.errors ?? 0) errors"
                                + (report.p99Ms.map { ", p99 up to \(DeployOutput.number($0)) ms" } ?? "") + " since its step began")
                } else {
                    Output.line("reported on \(report.slot.rawValue)")
                }
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One deployment (MODEL and --env) or a list: of MODEL, in --env, or every one you may read.")
        @Argument(help: "owner/name") var model: String?
        @Option(help: "The environment.") var env: String?
        @OptionGroup var client: RetryingClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let name = try model.map { try ModelName($0) }, environment = try env.map(DeployOptions.environment)
                if let name, let environment {
                    // The nodes are a read of their own, so the routing document stays the one that long-polls share.
                    let (deployment, nodes) = try await client.withClient { api in
                        (try await api.deployment(name, env: environment), try await api.deploymentNodes(name, env: environment))
                    }
                    if client.json { return Output.json(DeploymentWithNodes(deployment: deployment, nodes: nodes)) }
                    Output.line(DeployOutput.describe(deployment))
                    Output.table(["SLOT", "VERSION", "DIGEST", "WEIGHT"], deployment.routes.map {
                        [$0.slot.rawValue + ($0.slot == deployment.live ? " (live)" : ""), String($0.version), $0.digest.description, "\($0.weight)%"]
                    })
                    if !nodes.isEmpty {
                        Output.line("")
                        Output.table(NodeOutput.header, NodeOutput.rows(nodes))
                    }
                    return
                }
                let items = try await client.withClient { try await $0.deployments(model: name, env: environment) }
                if client.json { return Output.json(Page(items: items, nextCursor: nil)) }
                Output.table(["MODEL", "ENV", "REVISION", "STATUS", "LIVE", "BLUE", "GREEN", "CANDIDATE", "STEP"], items.map { deployment in
                    [deployment.model.description, deployment.env, String(deployment.revision), deployment.status.rawValue, deployment.live.rawValue,
                     deployment.slots.blue.map { String($0.version) } ?? "-", deployment.slots.green.map { String($0.version) } ?? "-",
                     deployment.candidate.map { "\($0.rawValue) \(deployment.candidateWeight)%" } ?? "-", "\(deployment.step)/\(deployment.steps.count)"]
                })
            }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every change of a deployment: when, who, what changed, the weights, why.")
        @Argument(help: "owner/name") var model: String
        @Option(help: "The environment.") var env: String
        @OptionGroup var client: RetryingClientOptions

        func run() async throws {
            try await Output.run(json: client.json) {
                let name = try ModelName(model), environment = try DeployOptions.environment(env)
                let items = try await client.withClient { try await $0.deploymentHistory(name, env: environment) }
                if client.json { return Output.json(Page(items: items, nextCursor: nil)) }
                Output.table(["REV", "TIME", "ACTOR", "ACTION", "ROUTES", "REASON"], items.map {
                    [String($0.revision), $0.at, $0.actor, $0.action + ($0.automatic ? " (automatic)" : ""),
                     $0.routes.map { "\($0.slot.rawValue) v\($0.version) \($0.weight)%" }.joined(separator: ", "), $0.reason ?? ""]
                })
            }
        }
    }
}

/// Parsing shared by the deploy commands.
enum DeployOptions {
    static func environment(_ text: String) throws -> AliasName {
        do {
            return try AliasName(text)
        } catch {
            throw VesselError.invalidArgument("'\(text)' is not a valid environment name: use 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter")
        }
    }

    /// `1,10,50,100` → integers; the server judges the rest (400 `invalid_argument`).
    static func steps(_ text: String) throws -> [Int] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
            guard let weight = Int(part.trimmingCharacters(in: .whitespaces)) else {
                throw VesselError.invalidArgument("--steps '\(text)' must be comma-separated integers such as 1,10,50,100")
            }
            return weight
        }
    }
}

/// Prints a deploy command's result and exits with its code: 0 applied, 10 pending, 1 refused.
enum DeployOutput {
    static func report(_ result: DeploymentResult, verb: String, json: Bool) throws {
        if json {
            Output.json(result)
        } else {
            switch result.outcome {
            case .applied:
                Output.line(verb)
                if let deployment = result.deployment { Output.line(describe(deployment)) }
            case .pending:
                Output.line("request \(result.requestID ?? "?") created: deploying \(result.model) to \(result.env) awaits approval (`vessel approve \(result.requestID ?? "ID")`)")
            case .refused:
                Output.line("refused: \(result.model) in \(result.env)")
                for failure in result.failures { Output.line("  \(failure.rule): \(failure.message)") }
            }
        }
        switch result.outcome {
        case .applied: return
        case .pending: throw ExitCode(10)
        case .refused: throw ExitCode(1)
        }
    }

    /// `acme/m in prod-eu: rolling_out (revision 4, step 1 of 4): blue v1 90% (live), green v2 10%`.
    static func describe(_ deployment: DeploymentInfo) -> String {
        let routes = deployment.routes.map { "\($0.slot.rawValue) v\($0.version) \($0.weight)%" + ($0.slot == deployment.live ? " (live)" : "") }
        return "\(deployment.model) in \(deployment.env): \(deployment.status.rawValue) (revision \(deployment.revision), step \(deployment.step) of \(deployment.steps.count)): "
            + routes.joined(separator: ", ")
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
