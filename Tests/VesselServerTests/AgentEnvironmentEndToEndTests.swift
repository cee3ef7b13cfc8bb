import Foundation
import Testing
import VesselCore
import VesselTestSupport
@testable import VesselClient

/// Issue 25, "where it bites", end to end: a `vessel agent` reporting its environment
/// (`--freeze`, `--image`), a `vessel serve` process refusing a deploy its nodes cannot run
/// (exit 1, every failing requirement named) unless `--force-incompatible` (audited), and the
/// agent refusing to switch to that version (`incompatible`) while the old one keeps serving.
@Suite(.serialized, .timeLimit(.minutes(5)), .enabled(if: VesselExecutable.path != nil, "needs the vessel executable"))
struct AgentEnvironmentEndToEndTests {
    static func push(_ server: ServeProcess, requirements: String) async throws {
        let folder = TempDir.make("vessel-agent-env-model")
        try "{\"requires\": \"\(requirements)\"}".write(toFile: "\(folder)/config.json", atomically: true, encoding: .utf8)
        try (requirements + "\n").write(toFile: "\(folder)/requirements.txt", atomically: true, encoding: .utf8)
        let push = try await CLI.run(["push", folder, "--model", "acme/m"], environment: server.env)
        #expect(push.status == 0, "\(push.stderr)")
    }

    @Test func anIncompatibleDeployIsRefusedForcedAuditedAndTheAgentKeepsServing() async throws {
        let server = try await ServeProcess()
        defer { server.stop() }
        try await Self.push(server, requirements: "transformers==4.30.0\nnumpy>=1.20")
        try await Self.push(server, requirements: "transformers==4.35.0\nnumpy>=1.20\ntorch>=2")
        let deploy1 = try await CLI.run(["deploy", "acme/m:1", "--env", "prod-eu"], environment: server.env)
        #expect(deploy1.status == 0, "\(deploy1.stderr)")
        let digests = try await AgentEndToEndTests.digests(server)

        let dir = TempDir.make("vessel-agent-env")
        let freeze = dir + "-freeze.txt"
        try "numpy==1.26.4\ntransformers==4.30.0\n".write(toFile: freeze, atomically: true, encoding: .utf8)
        let agent = try AgentProcess(server: server.url, token: ServeProcess.adminToken, dir: dir,
                                     arguments: ["--cache-dir", dir + "-cache", "--node", "node-e", "--freeze", freeze, "--python-version", "3.11"])
        defer { agent.stop() }
        try await agent.waitFor("version 1 in sync") { $0["digest"] as? String == digests[1] && $0["state"] as? String == "in_sync" }
        // The registry has heard the node (and so its environment).
        var heard = false
        for _ in 0..<300 where !heard {
            heard = try await AgentEndToEndTests.nodes(server).contains { $0.node == "node-e" && $0.actual?.digest.description == digests[1] }
            if !heard { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(heard, "node-e never reported version 1")

        // Refused: exit 1, every failing requirement named, nothing changes.
        let refused = try await CLI.run(["deploy", "acme/m:2", "--env", "prod-eu", "--steps", "100", "--json"], environment: server.env)
        #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stdout.contains("\"incompatible\"") && refused.stdout.contains("node node-e: transformers==4.35.0: wrong version")
            && refused.stdout.contains("node node-e: torch>=2: missing"), "\(refused.stdout)")
        #expect(!refused.stdout.contains("numpy"), "a satisfied requirement is not named: \(refused.stdout)")
        let status = try await CLI.run(["deploy", "status", "acme/m", "--env", "prod-eu", "--json"], environment: server.env)
        #expect(try status.json()["revision"] as? Int == 1, "the refused deploy changed nothing: \(status.stdout)")

        // Forced: applied, and audited with the verdicts.
        let forced = try await CLI.run(["deploy", "acme/m:2", "--env", "prod-eu", "--steps", "100", "--force-incompatible"], environment: server.env)
        #expect(forced.status == 0, "\(forced.stderr)")
        let advanced = try await CLI.run(["deploy", "advance", "acme/m", "--env", "prod-eu"], environment: server.env)
        #expect(advanced.status == 0, "\(advanced.stderr)")
        let audit = try await CLI.run(["audit", "--json"], environment: server.env)
        #expect(audit.stdout.contains("deployment.force_incompatible") && audit.stdout.contains("transformers==4.35.0"), "\(audit.stdout.suffix(3000))")

        // The agent refuses version 2 and keeps serving version 1.
        let refusing = try await agent.waitFor("incompatible with version 2") { $0["state"] as? String == "incompatible" }
        #expect(refusing["digest"] as? String == digests[1] && refusing["version"] as? Int == 1, "\(refusing)")
        let message = refusing["message"] as? String ?? ""
        #expect(message.contains("transformers==4.35.0") && message.contains("4.30.0") && message.contains("torch"), "\(message)")
        #expect(agent.current == "versions/\(digests[1]!.dropFirst(7))")
        #expect(FileManager.default.fileExists(atPath: "\(dir)/current/config.json"))
        var reported: NodeRecord?
        for _ in 0..<300 {
            reported = try await AgentEndToEndTests.nodes(server).first { $0.node == "node-e" }
            if reported?.reportedState == "incompatible" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(reported?.reportedState == "incompatible" && reported?.actual?.digest.description == digests[1], "\(String(describing: reported))")

        // --once says so too: exit 1.
        let once = try await agentOnce(server: server.url, token: ServeProcess.adminToken, dir: TempDir.make("vessel-agent-env-once"),
                                       ["--cache-dir", dir + "-cache", "--node", "node-o", "--freeze", freeze])
        #expect(once.status == 1 && once.stdout.contains("\"state\":\"incompatible\""), "\(once.stdout) \(once.stderr)")
    }
}
