import Foundation
import Testing
import VesselTestSupport

/// `vessel deploy …` against a real `vessel serve` (issue 23): every reply's shape and every
/// exit code — applied 0, refused 1, pending 10, conflicts and revision mismatches 5, bad
/// input 2.
@Suite(.serialized) struct DeployCLITests {
    /// Pushes a version of `model` holding one small JSON file with `note`.
    static func push(_ model: String, note: String, env: [String: String]) async throws {
        let folder = TempDir.make("vessel-deploy-model")
        try "{\"note\": \"\(note)\"}".write(toFile: "\(folder)/config.json", atomically: true, encoding: .utf8)
        let push = try await CLI.run(["push", folder, "--model", model], environment: env)
        #expect(push.status == 0, "\(push.stderr)")
    }

    /// A principal with `role` on `scope` and the client environment that acts as it.
    static func principal(_ server: ServeProcess, _ name: String, _ role: String, scope: String = "acme/*") async throws -> [String: String] {
        #expect(try await CLI.run(["principal", "add", name], environment: server.env).status == 0)
        #expect(try await CLI.run(["grant", name, role, "--scope", scope], environment: server.env).status == 0)
        let token = try #require(try await CLI.run(["token", "create", "--principal", name, "--json"], environment: server.env).json()["token"] as? String)
        return ["VESSEL_SERVER": server.url, "VESSEL_TOKEN": token]
    }

    static func deploy(_ arguments: [String], _ env: [String: String]) async throws -> (status: Int32, json: [String: Any]) {
        let result = try await CLI.run(["deploy"] + arguments + ["--json"], environment: env)
        return (result.status, (try? result.json()) ?? ["stderr": result.stderr, "stdout": result.stdout])
    }

    static func code(_ object: [String: Any]) -> String? { (object["error"] as? [String: Any])?["code"] as? String }

    /// Every change names the revision it read, so deploy, advance and rollback may be sent
    /// again after an outage (`--retry-for`); a report sent twice would count twice, so it is not.
    @Test func whichSubcommandsWaitOutAnOutage() async throws {
        for subcommand in [["start"], ["advance"], ["rollback"], ["status"], ["history"]] {
            let help = try await CLI.run(["deploy"] + subcommand + ["--help"])
            #expect(help.status == 0 && help.stdout.contains("--retry-for"), "deploy \(subcommand[0])")
        }
        let report = try await CLI.run(["deploy", "report", "--help"])
        #expect(report.status == 0 && !report.stdout.contains("--retry-for"))
    }

    @Test func aRolloutAndEveryExitCode() async throws {
        let server = try await ServeProcess()
        let env = server.env
        try await Self.push("acme/m", note: "one", env: env)
        try await Self.push("acme/m", note: "two", env: env)
        let qa = try await Self.principal(server, "qa", "contributor")

        let first = try await Self.deploy(["acme/m:1", "--env", "prod-eu", "--reason", "first"], env)
        #expect(first.status == 0, "\(first.json)")
        let keys: Set<String> = ["model", "env", "revision", "status", "live", "slots", "candidate_weight", "steps", "step", "outcome", "request_id", "failures", "routes"]
        #expect(keys.isSubset(of: Set(first.json.keys)), "\(first.json.keys.sorted())")
        #expect(first.json["outcome"] as? String == "applied" && first.json["status"] as? String == "serving" && first.json["live"] as? String == "blue")
        #expect(first.json["revision"] as? Int == 1 && first.json["request_id"] is NSNull)

        // `acme/m` is the latest ready version, 2: into green at weight 0.
        let second = try await Self.deploy(["acme/m", "--env", "prod-eu", "--smoke", "smoke", "--steps", "1,10,50,100"], env)
        #expect(second.status == 0 && second.json["status"] as? String == "rolling_out" && second.json["candidate_weight"] as? Int == 0, "\(second.json)")
        #expect((second.json["slots"] as? [String: Any]).flatMap { $0["green"] as? [String: Any] }?["version"] as? Int == 2)

        let busy = try await Self.deploy(["acme/m:1", "--env", "prod-eu"], env)
        #expect(busy.status == 5 && Self.code(busy.json) == "conflict", "\(busy.json)")
        let smokeless = try await Self.deploy(["advance", "acme/m", "--env", "prod-eu"], env)
        #expect(smokeless.status == 1 && smokeless.json["outcome"] as? String == "refused", "\(smokeless.json)")
        #expect((smokeless.json["failures"] as? [[String: Any]])?.map { $0["rule"] as? String } == ["smoke:smoke"])
        let human = try await CLI.run(["deploy", "advance", "acme/m", "--env", "prod-eu"], environment: env)
        #expect(human.status == 1 && human.stdout.contains("smoke:smoke"))

        let check = try await CLI.run(["check", "report", "acme/m:2", "--name", "smoke", "--status", "passed"], environment: qa)
        #expect(check.status == 0, "\(check.stderr)")
        for weight in [1, 10, 50] {
            let step = try await Self.deploy(["advance", "acme/m", "--env", "prod-eu"], env)
            #expect(step.status == 0 && step.json["candidate_weight"] as? Int == weight, "\(step.json)")
        }
        let done = try await Self.deploy(["advance", "acme/m", "--env", "prod-eu"], env)
        #expect(done.status == 0 && done.json["status"] as? String == "completed" && done.json["live"] as? String == "green", "\(done.json)")
        let status = try await Self.deploy(["status", "acme/m", "--env", "prod-eu"], env)
        #expect(status.status == 0)
        #expect((status.json["routes"] as? [[String: Any]])?.map { "\($0["slot"] as? String ?? "") \($0["weight"] as? Int ?? -1)" } == ["green 100", "blue 0"])
        let table = try await CLI.run(["deploy", "status", "acme/m", "--env", "prod-eu"], environment: env)
        #expect(table.status == 0 && table.stdout.contains("completed") && table.stdout.contains("green (live)"))

        let back = try await Self.deploy(["rollback", "acme/m", "--env", "prod-eu", "--reason", "regression"], env)
        #expect(back.status == 0 && back.json["live"] as? String == "blue" && back.json["status"] as? String == "rolled_back", "\(back.json)")
        let nothing = try await Self.deploy(["rollback", "acme/m", "--env", "prod-eu"], env)
        #expect(nothing.status == 5 && Self.code(nothing.json) == "conflict")
        let stale = try await Self.deploy(["advance", "acme/m", "--env", "prod-eu", "--expect-revision", "1"], env)
        #expect(stale.status == 5 && Self.code(stale.json) == "precondition_failed", "\(stale.json)")
        #expect(((stale.json["error"] as? [String: Any])?["message"] as? String)?.contains("revision 7") == true, "\(stale.json)")

        // Bad input: exit 2, whether the CLI or the server (400) finds it; a usage error is 64.
        for steps in ["10,5,100", "1,10", "0,100", "a,b"] {
            let bad = try await Self.deploy(["acme/m:2", "--env", "prod-eu", "--steps", steps], env)
            #expect(bad.status == 2 && Self.code(bad.json) == "invalid_argument", "--steps \(steps): \(bad.json)")
        }
        #expect(try await Self.deploy(["acme/m:2", "--env", "Prod EU"], env).status == 2)
        #expect(try await Self.deploy(["acme/m:2", "--env", "prod-eu", "--max-error-rate", "3"], env).status == 2)
        #expect(try await Self.deploy(["report", "acme/m", "--env", "prod-eu", "--slot", "purple", "--requests", "1", "--errors", "0"], env).status == 2)
        #expect(try await Self.deploy(["report", "acme/m", "--env", "prod-eu", "--slot", "green", "--requests", "1", "--errors", "2"], env).status == 2)
        #expect(try await CLI.run(["deploy", "acme/m:2"], environment: env).status == 64)
        #expect(try await Self.deploy(["status", "acme/m", "--env", "staging"], env).status == 3)
        #expect(try await Self.deploy(["acme/none:1", "--env", "prod-eu"], env).status == 3)

        // Automatic rollback by error rate, then by p99, through reports.
        let guarded = try await Self.deploy(["acme/m:2", "--env", "prod-eu", "--max-error-rate", "0.1", "--min-requests", "10"], env)
        #expect(guarded.status == 0 && guarded.json["max_error_rate"] as? Double == 0.1, "\(guarded.json)")
        #expect(try await Self.deploy(["advance", "acme/m", "--env", "prod-eu"], env).status == 0)
        let fine = try await Self.deploy(["report", "acme/m", "--env", "prod-eu", "--slot", "green", "--requests", "8", "--errors", "1"], qa)
        #expect(fine.status == 0 && (fine.json["report"] as? [String: Any])?["rolled_back"] as? Bool == false, "\(fine.json)")
        let failing = try await Self.deploy(["report", "acme/m", "--env", "prod-eu", "--slot", "green", "--requests", "12", "--errors", "6"], qa)
        let report = try #require(failing.json["report"] as? [String: Any])
        #expect(failing.status == 0 && report["rolled_back"] as? Bool == true && failing.json["status"] as? String == "rolled_back", "\(failing.json)")
        #expect((report["reason"] as? String)?.contains("error rate") == true && report["requests"] as? Int == 20 && report["errors"] as? Int == 7)

        #expect(try await Self.deploy(["acme/m:2", "--env", "prod-eu", "--max-p99-ms", "100", "--min-requests", "5"], env).status == 0)
        #expect(try await Self.deploy(["advance", "acme/m", "--env", "prod-eu"], env).status == 0)
        let slow = try await CLI.run(["deploy", "report", "acme/m", "--env", "prod-eu", "--slot", "green", "--requests", "10", "--errors", "0", "--p99-ms", "250"], environment: qa)
        #expect(slow.status == 0 && slow.stdout.contains("rolled back") && slow.stdout.contains("p99 250 ms"), "\(slow.stdout)")

        let history = try await Self.deploy(["history", "acme/m", "--env", "prod-eu"], env)
        let actions = (history.json["items"] as? [[String: Any]])?.map { $0["action"] as? String ?? "" } ?? []
        #expect(actions == ["deployed", "started", "advanced", "advanced", "advanced", "completed", "rolled_back", "started", "advanced", "rolled_back", "started", "advanced", "rolled_back"])
        let automatic = (history.json["items"] as? [[String: Any]])?.filter { $0["automatic"] as? Bool == true }.map { $0["actor"] as? String }
        #expect(automatic == ["system", "system"])
        let historyTable = try await CLI.run(["deploy", "history", "acme/m", "--env", "prod-eu"], environment: env)
        #expect(historyTable.status == 0 && historyTable.stdout.contains("rolled_back (automatic)") && historyTable.stdout.contains("regression"))
        let list = try await Self.deploy(["status"], env)
        #expect((list.json["items"] as? [[String: Any]])?.count == 1 && list.json["next_cursor"] is NSNull)

        // Either pool's version cannot be deleted (exit 5); a version that is not ready is refused as `alias set` refuses it (exit 1).
        let delete = try await CLI.run(["version", "delete", "acme/m:2", "--json"], environment: env)
        #expect(try delete.status == 5 && delete.errorCode() == "conflict")
        let archived = try await CLI.run(["version", "archive", "acme/m:2"], environment: env)
        #expect(archived.status == 0)
        let notReady = try await Self.deploy(["acme/m:2", "--env", "prod-eu"], env)
        #expect(notReady.status == 1 && Self.code(notReady.json) == "refused", "\(notReady.json)")
    }

    /// The environment's name is governed like an alias of that name: refused (1), pending
    /// approval (10) until `vessel approve` starts the rollout, role-only rollbacks; and of two
    /// rollbacks racing from the revision each read, exactly one applies.
    @Test func governanceAndRaces() async throws {
        let server = try await ServeProcess()
        let env = server.env
        try await Self.push("acme/m", note: "one", env: env)
        try await Self.push("acme/m", note: "two", env: env)
        let dev = try await Self.principal(server, "dev", "contributor")
        let lead = try await Self.principal(server, "lead", "maintainer")
        #expect(try await CLI.run(["protect", "acme/*", "prod-eu", "--roles", "maintainer"], environment: env).status == 0)

        let refused = try await Self.deploy(["acme/m:1", "--env", "prod-eu"], dev)
        #expect(refused.status == 1 && refused.json["outcome"] as? String == "refused" && refused.json["revision"] is NSNull, "\(refused.json)")
        #expect(try await Self.deploy(["acme/m:1", "--env", "prod-eu"], lead).status == 0)

        #expect(try await CLI.run(["protect", "acme/*", "prod-eu", "--roles", "maintainer", "--require-approval"], environment: env).status == 0)
        let pending = try await Self.deploy(["acme/m:2", "--env", "prod-eu", "--steps", "50,100", "--reason", "canary"], dev)
        #expect(pending.status == 10 && pending.json["outcome"] as? String == "pending" && pending.json["revision"] as? Int == 1, "\(pending.json)")
        let id = try #require(pending.json["request_id"] as? String)
        let words = try await CLI.run(["deploy", "acme/m:2", "--env", "prod-eu", "--steps", "50,100", "--reason", "canary"], environment: dev)
        #expect(words.status == 10 && words.stdout.contains("vessel approve \(id)"), "asking again answers the open request: \(words.stdout)")
        let approve = try await CLI.run(["approve", id], environment: lead)
        #expect(approve.status == 0, "\(approve.stdout) \(approve.stderr)")
        let started = try await Self.deploy(["status", "acme/m", "--env", "prod-eu"], dev)
        #expect(started.json["status"] as? String == "rolling_out" && started.json["steps"] as? [Int] == [50, 100] && started.json["revision"] as? Int == 2)

        #expect(try await Self.deploy(["advance", "acme/m", "--env", "prod-eu"], dev).status == 1)
        #expect(try await Self.deploy(["advance", "acme/m", "--env", "prod-eu"], lead).status == 0)
        #expect(try await Self.deploy(["rollback", "acme/m", "--env", "prod-eu"], dev).status == 1)

        // Two rollbacks race; each sends the revision it read: one applies, the other exits 5
        // (its revision moved, or by the time it read there was nothing left to roll back).
        async let one = Self.deploy(["rollback", "acme/m", "--env", "prod-eu"], lead)
        async let two = Self.deploy(["rollback", "acme/m", "--env", "prod-eu"], lead)
        let statuses = [try await one.status, try await two.status].sorted()
        #expect(statuses == [0, 5], "\(statuses)")
        let final = try await Self.deploy(["status", "acme/m", "--env", "prod-eu"], lead)
        #expect(final.json["revision"] as? Int == 4 && final.json["status"] as? String == "rolled_back")
    }
}
