import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselMetadata
@testable import VesselServer

/// The deployment page of the web UI (issue 29): traffic, steps, nodes and drift; Roll back only
/// for callers the API lets roll back, through the same store path and audit; the session
/// long-poll that keeps the page current; and the audit page's filters in the store's query.
@Suite(.timeLimit(.minutes(3)))
struct UIDeploymentPageTests {
    static let page = "/ui/models/acme/m/deployments/prod-eu"

    /// MODEL versions 1 and 2; version 1 deployed into prod-eu, version 2 rolling out at step 1
    /// (1%), revision 3; a node of the live pool in sync and one of green still on version 1.
    @discardableResult
    static func rollingOut(_ client: any TestClientProtocol, model: String = "acme/m", nodes: Bool = false) async throws -> DeploymentInfo {
        let base = "/api/v1/models/\(model)/deployments/prod-eu"
        try await DeploymentAPITests.push(client, 2, model: model)
        _ = try await DeploymentAPITests.post(client, base, DeployRequest(version: 1))
        _ = try await DeploymentAPITests.post(client, base, DeployRequest(version: 2, expectRevision: 1))
        let (_, object, result) = try await DeploymentAPITests.post(client, "\(base)/advance", DeploymentChangeRequest(expectRevision: 2))
        let deployment = try #require(result?.deployment, "\(object)")
        if nodes, let blue = deployment.slots.blue {
            for (node, slot) in [("gpu-1", "live"), ("gpu-2", "green")] {
                let status = try await client.execute(uri: "\(base)/nodes/\(node)", method: .put, headers: APIHarness.auth + [.contentType: "application/json"],
                                                      body: APIHarness.json(NodeReportRequest(slot: slot, digest: blue.digest, version: 1, state: slot == "live" ? "in_sync" : "downloading"))) { $0.status }
                #expect(status == .ok)
            }
        }
        return deployment
    }

    @Test func showsTrafficStepsAndNodesWithDriftHighlighted() async throws {
        try await APIHarness.with { _, client in
            let deployment = try await Self.rollingOut(client)
            #expect(deployment.status == .rollingOut && deployment.candidateWeight == 1)
            let blue = try #require(deployment.slots.blue)
            let green = try #require(deployment.slots.green)
            // One node serving its pool's version, one still on the old one, one following green.
            _ = try await NodeReportAPITests.report(client, "gpu-1", NodeReportRequest(slot: "live", digest: blue.digest, version: 1, state: "in_sync"))
            _ = try await NodeReportAPITests.report(client, "gpu-2", NodeReportRequest(slot: "green", digest: blue.digest, version: 1, state: "downloading", message: "<script>x</script>"))
            _ = try await NodeReportAPITests.report(client, "gpu-3", NodeReportRequest(slot: "green", digest: green.digest, version: 2, state: "in_sync"))
            var browser = UIBrowser(client)
            try await browser.signIn(APIHarness.adminToken)
            let answer = try await browser.get(Self.page)
            #expect(answer.status == .ok, "\(answer.html)")
            let html = answer.html
            #expect(html.contains(#"<meter min="0" max="100" value="99" aria-label="traffic to blue">"#), "blue keeps 99%")
            #expect(html.contains(#"<meter min="0" max="100" value="1" aria-label="traffic to green">"#), "green takes 1%")
            #expect(html.contains("step 1 of 4, the candidate at 1%"), "which step, its weight, and the pause")
            #expect(html.contains("(current: paused until the next advance)"))
            #expect(html.contains("1 of 3 node(s) do not serve what their pool holds"))
            #expect(html.components(separatedBy: #"<tr class="drifted">"#).count == 2, "exactly one node row highlighted")
            #expect(html.contains("&lt;script&gt;x&lt;/script&gt;") && !html.contains("<script>x"), "node text escaped")
            // The page's one script is an external, content-hashed asset; its CSP allows that and no inline script.
            let assets = UIAssets()
            #expect(html.contains(#"<script src="\#(assets.rollout.path)" defer></script>"#))
            #expect(assets.rollout.path.hasPrefix("/ui/assets/rollout.") && assets.rollout.path.hasSuffix(".js"))
            #expect(answer.headers[.contentSecurityPolicy] == UIHeaders.scriptPolicy)
            #expect(UIHeaders.scriptPolicy.contains("script-src 'self'") && !UIHeaders.scriptPolicy.contains("unsafe-inline"))
            #expect(html.components(separatedBy: "<script").count == 2, "no other script element")
            let script = try await client.execute(uri: assets.rollout.path, method: .get) { ($0.status, $0.headers, String(buffer: $0.body)) }
            #expect(script.0 == .ok && script.1[.contentType]?.hasPrefix("text/javascript") == true && script.2.contains("data-watch"))
            #expect(script.1[.cacheControl]?.contains("immutable") == true)
            // Other pages keep the CSP without any script.
            let list = try await browser.get("/ui/deployments")
            #expect(list.headers[.contentSecurityPolicy] == UIHeaders.contentSecurityPolicy)
            #expect(list.html.contains(#"href="\#(Self.page)""#), "the list links to the deployment page")
        }
    }

    @Test func aMaintainerRollsBackThroughTheStoreAndAViewerChangesNothing() async throws {
        try await APIHarness.with { harness, client in
            _ = try await Self.rollingOut(client)
            _ = try await harness.principal("val", .viewer)
            _ = try await harness.principal("mia", .maintainer)
            var viewer = UIBrowser(client)
            try await viewer.signIn(APIHarness.token(of: "val"))
            let seen = try await viewer.get(Self.page)
            #expect(seen.status == .ok)
            #expect(!seen.html.contains(">Roll back</button>"), "a viewer sees no Roll back button")
            #expect(seen.html.contains("Rolling back needs the contributor role"))
            let refused = try await viewer.post("\(Self.page)/rollback", form: ["revision": "3", "page": "deployment"], csrf: viewer.csrf)
            #expect(refused.status == .forbidden, "\(refused.html)")
            #expect(try await harness.registry.store.deployment(model: try ModelName("acme/m"), env: try AliasName("prod-eu")).revision == 3, "a viewer's POST changed nothing")

            var maintainer = UIBrowser(client)
            try await maintainer.signIn(APIHarness.token(of: "mia"))
            let form = try await maintainer.get(Self.page)
            #expect(form.html.contains(">Roll back</button>") && form.html.contains(#"name="revision" value="3""#))
            // Without the form token: refused before anything runs.
            let noToken = try await maintainer.post("\(Self.page)/rollback", form: ["revision": "3", "page": "deployment"], csrf: nil)
            #expect(noToken.status == .forbidden)
            // A stale revision is refused by the store like the API's expect_revision.
            let stale = try await maintainer.post("\(Self.page)/rollback", form: ["revision": "2", "page": "deployment"], csrf: maintainer.csrf)
            #expect(stale.status != .ok || stale.html.contains("was not rolled back"), "\(stale.html)")
            let done = try await maintainer.post("\(Self.page)/rollback", form: ["revision": "3", "page": "deployment", "reason": "p99 up <b>"], csrf: maintainer.csrf)
            #expect(done.status == .ok, "\(done.html)")
            #expect(done.html.contains("acme/m in prod-eu: rollback applied."))
            let after = try await harness.registry.store.deployment(model: try ModelName("acme/m"), env: try AliasName("prod-eu"))
            #expect(after.status == .rolledBack && after.revision == 4)
            // Audited like the API's rollback: the action, the actor, the reason, the session credential.
            let entries = try await harness.registry.store.auditEntries(AuditFilter(action: "deployment.rollback"), limit: 10, cursor: nil)
            let entry = try #require(entries.items.first)
            #expect(entries.items.count == 1 && entry.actor == "mia" && entry.reason == "p99 up <b>" && entry.credential == "session", "\(entries.items)")
            var admin = try await UIBrowser.signedInAdmin(client)
            let audit = try await admin.get("/ui/audit?action=deployment.rollback")
            #expect(audit.html.contains("deployment.rollback") && audit.html.contains("p99 up &lt;b&gt;"))
        }
    }

    @Test func theWatchAnswersAChangeWithTheLivePartAndTimesOutWithTheCurrentOne() async throws {
        try await APIHarness.with { harness, client in
            _ = try await Self.rollingOut(client)
            var browser = UIBrowser(client)
            try await browser.signIn(APIHarness.adminToken)
            let now = try await browser.get("\(Self.page)/watch?after=0")
            #expect(now.status == .ok && now.html.hasPrefix(#"<div id="live""#) && now.html.contains(#"data-revision="3""#), "\(now.html)")
            #expect(!now.html.contains("<html"), "only the live part")
            let timedOut = try await browser.get("\(Self.page)/watch?after=3&wait=0.2")
            #expect(timedOut.status == .ok && timedOut.html.contains(#"data-revision="3""#), "the current state when the wait runs out")
            // A poll waiting on revision 3 answers with revision 4 once the API advanced the rollout.
            let session = browser
            let waiting = Task {
                var browser = session
                return try await browser.get("\(Self.page)/watch?after=3&wait=60")
            }
            await harness.registry.store.deploymentWatch.untilWaiting(atLeast: 1)
            let advanced = try await DeploymentAPITests.post(client, "\(DeploymentAPITests.base)/prod-eu/advance", DeploymentChangeRequest(expectRevision: 3))
            #expect(advanced.2?.deployment?.revision == 4)
            let changed = try await waiting.value
            #expect(changed.status == .ok && changed.html.contains(#"data-revision="4""#) && changed.html.contains("step 2 of 4, the candidate at 10%"), "\(changed.html)")
            // Without a session the watch is not answered.
            let anonymous = try await client.execute(uri: "\(Self.page)/watch?after=0", method: .get) { $0.status }
            #expect(anonymous == .seeOther)
            #expect(try await browser.get("/ui/models/acme/m/deployments/nowhere").status == .notFound)
        }
    }

    /// The audit page's model, actor and action filters are applied in the query: a page holds
    /// the matching entries even when they are older than the newest page of the whole chain.
    @Test func auditFiltersGoIntoTheStoreQuery() async throws {
        try await APIHarness.with { harness, client in
            let store = harness.registry.store
            _ = try await store.createModel(try ModelName("acme/rare"), description: "", tags: [], change: ChangeContext(actor: "rarely", requestID: nil))
            for index in 0..<(UIController.pageSize + 20) {
                _ = try await store.createModel(try ModelName("acme/busy-\(index)"), description: "", tags: [], change: ChangeContext(actor: "often", requestID: nil))
            }
            // The listing itself (filters, order, cursors) is AuditListingConformanceTests'.
            var admin = try await UIBrowser.signedInAdmin(client)
            let page = try await admin.get("/ui/audit?actor=rarely")
            #expect(page.status == .ok && page.html.contains("acme/rare"), "the old entry is found, not only the newest page filtered")
            #expect(page.html.components(separatedBy: "<td>rarely</td>").count == 2)
            let modelPage = try await admin.get("/ui/audit?model=acme%2Frare")
            #expect(modelPage.html.contains("acme/rare") && !modelPage.html.contains("acme/busy-"))
        }
    }
}

extension UIBrowser {
    static func signedInAdmin(_ client: any TestClientProtocol) async throws -> UIBrowser {
        var browser = UIBrowser(client)
        try await browser.signIn(APIHarness.adminToken)
        return browser
    }
}
