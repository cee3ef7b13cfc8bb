import Foundation
import Testing
import VesselTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `vessel webhook …` against a real `vessel serve` that allows 127.0.0.0/8. The receiver
/// URL points at a loopback port held bound but not listening: attempts are refused and
/// recorded, nothing leaves the host.
@Suite(.serialized) struct WebhookCLITests {
    @Test func addListTestDeliveriesRemove() async throws {
        let server = try await ServeProcess(arguments: ["--webhook-allow", "127.0.0.0/8"])
        let env = server.env
        let receiver = CLI.refusingPort()
        defer { close(receiver.fd) }
        let url = "http://127.0.0.1:\(receiver.port)/hook"

        let added = try await CLI.run(["webhook", "add", url, "--events", "alias.*,version.ready", "--scope", "acme/*", "--json"], environment: env)
        #expect(added.status == 0, "\(added.stderr)")
        let object = try added.json()
        let id = try #require(object["id"] as? String)
        #expect((object["secret"] as? String)?.hasPrefix("whsec_") == true && object.count == 2)

        let plain = try await CLI.run(["webhook", "add", url, "--secret", "my-own-secret-123456", "--format", "slack"], environment: env)
        #expect(plain.status == 0 && plain.stdout.contains("added webhook") && !plain.stdout.contains("my-own-secret"))

        let list = try await CLI.run(["webhook", "list", "--json"], environment: env)
        let items = try #require(try list.json()["items"] as? [[String: Any]])
        // The secret is shown once, at creation; a list writes it as null (never left out).
        #expect(items.count == 2 && items.allSatisfy { $0["secret"] is NSNull })
        #expect(items.first { $0["id"] as? String == id }?["events"] as? [String] == ["alias.*", "version.ready"])

        let test = try await CLI.run(["webhook", "test", id, "--json"], environment: env)
        #expect(test.status == 0)
        let eventID = try #require(try test.json()["event_id"] as? String)
        var attempts: [[String: Any]] = []
        // Polled until the first attempt is recorded; the bound only tells "never" from "slow".
        let deadline = ContinuousClock.now + .seconds(120)
        while attempts.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            attempts = try await CLI.run(["webhook", "deliveries", id, "--json"], environment: env).json()["items"] as? [[String: Any]] ?? []
        }
        // Newest first; a retry may already have happened under load, so take the first attempt.
        let first = try #require(attempts.first { $0["attempt"] as? Int == 1 })
        #expect(first["event_id"] as? String == eventID && first["event_type"] as? String == "webhook.test")
        #expect(first["status"] as? String == "failed" && first["response_code"] is NSNull && first["error"] is String, "\(first)")
        #expect(first["attempt"] as? Int == 1 && first["latency_ms"] is Double)
        let table = try await CLI.run(["webhook", "deliveries", id], environment: env)
        #expect(table.status == 0 && table.stdout.contains("webhook.test") && table.stdout.contains("failed"))

        let redeliver = try await CLI.run(["webhook", "redeliver", eventID, "--json"], environment: env)
        #expect(redeliver.status == 0)
        #expect(try redeliver.json()["webhooks"] as? [String] == [id])

        let refused = try await CLI.run(["webhook", "add", "http://169.254.169.254/latest", "--json"], environment: env)
        #expect(refused.status == 2)
        #expect((try refused.json()["error"] as? [String: Any])?["code"] as? String == "invalid_argument")
        let badFormat = try await CLI.run(["webhook", "add", url, "--format", "xml"], environment: env)
        #expect(badFormat.status == 64)

        #expect(try await CLI.run(["webhook", "rm", id], environment: env).status == 0)
        #expect(try await CLI.run(["webhook", "rm", id], environment: env).status == 3)
        #expect(try await CLI.run(["webhook", "deliveries", "whk_nope"], environment: env).status == 3)
    }
}
