import Foundation
import Testing
import VesselTestSupport

/// `--retry-for` with real processes: a `vessel push` started before its server is listening
/// waits for it and succeeds.
@Suite struct RetryCLITests {
    enum Event: Sendable {
        case knocked
        case pushed(CLI.Result)
        case serverExited(ProcessResult)
    }

    @Test func aPushWaitsForAServerThatComesUpLate() async throws {
        let model = TempDir.make("vessel-model")
        try TempDir.writeFile("\(model)/weights.bin", count: 200_000, seed: 7)
        try TempDir.writeFile("\(model)/config.json", count: 300, seed: 8)
        defer { try? FileManager.default.removeItem(atPath: model) }
        let dataDir = TempDir.make("vessel-late-data")
        let listener = try KnockListener()
        let env = ["VESSEL_SERVER": "http://127.0.0.1:\(listener.port)", "VESSEL_TOKEN": ServeProcess.adminToken]
        let executable = try VesselExecutable.require()

        let push = try await withThrowingTaskGroup(of: Event.self) { group in
            group.addTask { .pushed(try await CLI.run(["push", model, "--model", "acme/late", "--alias", "staging", "--retry-for", "2m"], environment: env)) }
            group.addTask { await listener.firstKnock() ? .knocked : .serverExited(ProcessResult(status: -1, stdout: "", stderr: "the listener closed unknocked")) }
            while let event = try await group.next() {
                switch event {
                case .knocked:
                    // The push has sent its first request, to nobody: stop answering, start the server.
                    listener.close()
                    group.addTask {
                        .serverExited(try await runProcess(executable, ["serve", "--data-dir", dataDir, "--port", String(listener.port), "--log-level", "warning"],
                                                           environment: ["PATH": "/usr/bin:/bin", "VESSEL_ADMIN_TOKEN": ServeProcess.adminToken]))
                    }
                case .pushed(let result):
                    group.cancelAll()
                    return result
                case .serverExited(let result):
                    throw TestFailure("vessel serve exited (\(result.status)) before the push ended: \(result.stderr.suffix(2000))")
                }
            }
            throw TestFailure("the push never ended")
        }
        #expect(push.status == 0, "\(push.stderr)")
        #expect(push.stdout.contains("pushed acme/late:1"), "\(push.stdout)")
        #expect(push.stdout.contains("alias staging"))
        // It said it was waiting, and why.
        #expect(push.stderr.contains("cannot reach http://127.0.0.1:\(listener.port)"), "\(push.stderr)")
        #expect(push.stderr.contains(", retrying in "), "\(push.stderr)")
        #expect(push.stderr.contains(" left"), "\(push.stderr)")
    }

    @Test func retryForZeroFailsAtOnceAndJSONStaysClean() async throws {
        let (fd, port) = CLI.refusingPort()
        defer { close(fd) }
        let model = TempDir.make("vessel-model")
        try TempDir.writeFile("\(model)/config.json", count: 300, seed: 9)
        defer { try? FileManager.default.removeItem(atPath: model) }
        let env = ["VESSEL_SERVER": "http://127.0.0.1:\(port)", "VESSEL_TOKEN": "t"]

        let once = try await CLI.run(["push", model, "--model", "acme/m", "--retry-for", "0"], environment: env)
        #expect(once.status == 6)
        #expect(!once.stderr.contains("retrying"), "\(once.stderr)")
        #expect(once.stderr.contains("connection refused"), "\(once.stderr)")

        let json = try await CLI.run(["alias", "set", "acme/m", "prod", "1", "--retry-for", "1s", "--json"], environment: env)
        #expect(json.status == 6)
        #expect(try json.errorCode() == "unavailable", "stdout holds the error object and nothing else: \(json.stdout)")
        #expect(try #require(try json.json()["error"] as? [String: Any])["message"].map { "\($0)" }?.contains("still failing after retrying for 1.0s") == true)
        #expect(!json.stderr.contains("retrying in"), "--json prints no notices: \(json.stderr)")

        let bad = try await CLI.run(["promote", "acme/m", "1", "--to", "prod", "--retry-for", "soon"], environment: env)
        #expect(bad.status == 64, "\(bad.stderr)")
    }
}
