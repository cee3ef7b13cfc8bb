import Foundation
import Testing
import VesselTestSupport

/// `vessel deploy endpoint …` and the nodes of `vessel deploy status` against a real
/// `vessel serve` (issue 24): shapes and exit codes.
@Suite(.serialized) struct DeployNodesCLITests {
    @Test func endpointsAndNodesThroughTheCLI() async throws {
        // Loopback allowed, so an endpoint on this machine may be watched; a 1 s drift interval.
        let server = try await ServeProcess(arguments: ["--webhook-allow", "127.0.0.0/8", "--drift-interval", "1s", "--drift-grace", "1s"])
        let env = server.env
        try await DeployCLITests.push("acme/m", note: "one", env: env)
        #expect(try await DeployCLITests.deploy(["acme/m:1", "--env", "prod-eu"], env).status == 0)

        // Refused destinations are bad input (2); a viewer may not add (4); no deployment (3).
        let metadata = try await CLI.run(["deploy", "endpoint", "add", "acme/m", "--env", "prod-eu", "http://169.254.169.254", "--json"], environment: env)
        #expect(metadata.status == 2 && DeployCLITests.code((try? metadata.json()) ?? [:]) == "invalid_argument", "\(metadata.stdout)")
        let viewer = try await DeployCLITests.principal(server, "watcher", "viewer")
        let refused = try await CLI.run(["deploy", "endpoint", "add", "acme/m", "--env", "prod-eu", "http://127.0.0.1:9", "--json"], environment: viewer)
        #expect(refused.status == 4, "\(refused.stdout)")
        let missing = try await CLI.run(["deploy", "endpoint", "add", "acme/m", "--env", "staging", "http://127.0.0.1:9", "--json"], environment: env)
        #expect(missing.status == 3, "\(missing.stdout)")

        // Port 9 (discard) on loopback: nothing answers, so it turns unreachable.
        let added = try await CLI.run(["deploy", "endpoint", "add", "acme/m", "--env", "prod-eu", "http://127.0.0.1:9", "--slot", "live", "--json"], environment: env)
        #expect(added.status == 0, "\(added.stdout) \(added.stderr)")
        let addedJSON = try added.json()
        #expect(addedJSON["url"] as? String == "http://127.0.0.1:9" && addedJSON["added_by"] as? String == "admin")
        let again = try await CLI.run(["deploy", "endpoint", "add", "acme/m", "--env", "prod-eu", "http://127.0.0.1:9", "--json"], environment: env)
        #expect(again.status == 5, "\(again.stdout)")

        // Generous bound: the job runs every second; this only tells "judged" from "never judged".
        var nodes: [[String: Any]] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let status = try await CLI.run(["deploy", "status", "acme/m", "--env", "prod-eu", "--json"], environment: env)
            #expect(status.status == 0, "\(status.stderr)")
            let object = try status.json()
            #expect(object["routes"] is [Any] && object["revision"] as? Int == 1)
            nodes = object["nodes"] as? [[String: Any]] ?? []
            if nodes.first?["drift"] as? String == "unreachable" { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let node = try #require(nodes.first)
        #expect(Set(node.keys).isSuperset(of: ["node", "slot", "desired", "actual", "reported_state", "drift", "since", "last_seen"]), "\(node.keys.sorted())")
        #expect(node["node"] as? String == "http://127.0.0.1:9" && node["drift"] as? String == "unreachable" && node["actual"] is NSNull)
        #expect((node["desired"] as? [String: Any])?["version"] as? Int == 1)

        let human = try await CLI.run(["deploy", "status", "acme/m", "--env", "prod-eu"], environment: env)
        #expect(human.status == 0 && human.stdout.contains("NODE") && human.stdout.contains("http://127.0.0.1:9") && human.stdout.contains("unreachable"), "\(human.stdout)")
        let list = try await CLI.run(["deploy", "endpoint", "list", "acme/m", "--env", "prod-eu", "--json"], environment: env)
        let listed = try list.json()
        #expect(list.status == 0 && (listed["items"] as? [[String: Any]])?.count == 1 && listed["next_cursor"] is NSNull, "\(list.stdout)")

        let removed = try await CLI.run(["deploy", "endpoint", "rm", "acme/m", "--env", "prod-eu", "http://127.0.0.1:9"], environment: env)
        #expect(removed.status == 0, "\(removed.stderr)")
        let gone = try await CLI.run(["deploy", "endpoint", "rm", "acme/m", "--env", "prod-eu", "http://127.0.0.1:9", "--json"], environment: env)
        #expect(gone.status == 3, "\(gone.stdout)")
        let audit = try await CLI.run(["audit", "--model", "acme/m", "--json"], environment: env)
        #expect(audit.stdout.contains("deployment.endpoint.add") && audit.stdout.contains("deployment.endpoint.remove"), "\(audit.stdout.prefix(400))")
    }
}
