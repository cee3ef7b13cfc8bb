import Foundation
import Testing
import VesselTestSupport

/// `vessel peers list` and `vessel serve --egress-limit` against a real `vessel serve` (issue 30).
@Suite(.serialized) struct PeersListCLITests {
    @Test func anAdminListsLivePeers() async throws {
        let server = try await ServeProcess(arguments: ["--egress-limit", "100MB"])
        let env = server.env
        let empty = try await CLI.run(["peers", "list", "--json"], environment: env)
        #expect(empty.status == 0, "\(empty.stderr)")
        let emptyJSON = try empty.json()
        #expect((emptyJSON["items"] as? [Any])?.isEmpty == true && emptyJSON["next_cursor"] is NSNull, "\(empty.stdout)")

        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let body = #"{"url":"http://127.0.0.1:7001","blobs":["\#(digest)"],"ttl_seconds":600}"#
        let put = try await runProcess("/usr/bin/curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H", "Authorization: Bearer \(ServeProcess.adminToken)",
                                                         "-H", "Content-Type: application/json", "--data", body, "\(server.url)/api/v1/peers/gpu-7"], timeLimit: .seconds(60))
        #expect(put.stdout == "200", "\(put.stdout) \(put.stderr)")

        let listed = try await CLI.run(["peers", "list", "--json"], environment: env)
        let items = try #require(try listed.json()["items"] as? [[String: Any]])
        #expect(listed.status == 0 && items.count == 1, "\(listed.stdout)")
        #expect(items.first?["id"] as? String == "gpu-7" && items.first?["blobs"] as? Int == 1 && items.first?["principal"] as? String == "admin")
        #expect(items.first?["suspect_until"] is NSNull)
        let human = try await CLI.run(["peers", "list"], environment: env)
        #expect(human.status == 0 && human.stdout.contains("gpu-7") && human.stdout.contains("http://127.0.0.1:7001") && human.stdout.contains("PRINCIPAL"), "\(human.stdout)")

        // Not an admin: 4.
        let viewer = try await DeployCLITests.principal(server, "watcher", "viewer")
        let refused = try await CLI.run(["peers", "list", "--json"], environment: viewer)
        let refusedCode = try? refused.errorCode()
        #expect(refused.status == 4 && refusedCode == "forbidden", "\(refused.stdout)")
    }

    @Test func aBadEgressLimitIsRefused() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-egress-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try await CLI.run(["serve", "--data-dir", dir, "--port", "1", "--egress-limit", "fast"], environment: ["VESSEL_ADMIN_TOKEN": "vsl_x"])
        #expect(result.status == 2 && result.stderr.contains("egress limit"), "\(result.stderr)")
    }
}
