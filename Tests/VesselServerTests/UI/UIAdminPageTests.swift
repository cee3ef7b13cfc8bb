import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
import VesselTestSupport
@testable import VesselMetadata
@testable import VesselServer

/// A registry with something on every page issue 29 adds (webhooks, retention, alias history,
/// the version page's checks, environment and lineage), and the XSS payloads in every free-text
/// field that reaches a page: model and version descriptions, tags, request and alias-move
/// reasons, check URLs (check names and metric keys are refused unless letters, digits, `._-/`),
/// webhook URLs and delivery errors, hold reasons, dataset URIs and descriptions, run names
/// (a requirements comment carries one too, though the page shows parsed entries, not comments).
enum UIAdminSeed {
    static let script = "<script>alert(1)</script>"
    static let image = "\"><img src=x onerror=alert(1)>"
    static let runID = "run_uitest00000001"
    static let imageReference = "registry.example/acme/m@sha256:" + String(repeating: "ab", count: 32)

    struct Seeded {
        var request: String
        var webhook: String
        var registryWebhook: String
    }

    /// acme/m version 1 (linked to a run trained on acme/clean:1, derived from acme/raw:1; with
    /// requirements, an image, two checks and a hold), version 2 without lineage; `staging` set
    /// to 1 then moved to 2; a pending request for production; a policy on `acme/*`; a webhook
    /// on `acme/*` with a failed attempt, and one on `*`.
    static func seed(_ harness: APIHarness, _ client: any TestClientProtocol) async throws -> Seeded {
        let store = harness.registry.store
        let system = ChangeContext(actor: "test", requestID: nil)
        let model = try ModelName("acme/m")
        _ = try await store.createModel(model, description: script, tags: ["llm", image], change: system)
        _ = try await store.addDatasetRevision(try ModelName("acme/raw"), uri: "s3://raw/\(image)", digest: nil, size: nil, from: [],
                                               description: script, change: system)
        _ = try await store.addDatasetRevision(try ModelName("acme/clean"), uri: "s3://clean/\(script)", digest: nil, size: nil,
                                               from: [DatasetReference(dataset: try ModelName("acme/raw"), revision: 1)], description: image, change: system)
        _ = try await store.addRun(owner: "acme", id: runID, request: RunRequest(name: "\(script)\(image)", gitCommit: "0123abc"),
                                   datasets: [DatasetReference(dataset: try ModelName("acme/clean"), revision: 1)], requirements: nil, change: system)
        let lineage = VersionLineageRequest(run: runID, requirements: RequirementsUpload(fileName: "requirements.txt",
                                                                                        text: "transformers==4.35.0\ntorch>=2.1 # \(script)\n"),
                                            image: imageReference)
        _ = try await push(client, model: "acme/m", files: ["config.json": UIPageTests.weights], description: image, lineage: lineage)
        _ = try await push(client, model: "acme/m", files: ["config.json": Array(#"{"v": 2}"#.utf8)], description: script, lineage: nil)
        _ = try await store.updateVersion(model: model, version: 1, description: script, change: system)
        let ci = ChangeContext(actor: "ci-bot", requestID: nil)
        _ = try await store.reportCheck(model: model, version: 1, CheckReportRequest(name: "eval", status: "passed", metrics: ["accuracy": 0.91, "loss": 2],
                                                                                     url: "https://ci.example/\(image)"), change: ci)
        _ = try await store.reportCheck(model: model, version: 1, CheckReportRequest(name: "safety", status: "failed", metrics: [:],
                                                                                     url: "javascript:alert(1)//\(script)"), change: ci)
        _ = try await store.hold(model: model, version: 1, reason: "\(script) \(image)", change: system)
        _ = try await store.setRetentionPolicy(scope: try Scope("acme/*"), policy: RetentionPolicyInfo(scope: "acme/*", keepLast: 5, keepFor: 30 * 86_400),
                                               change: system)
        for version in [1, 2] {
            let moved = try await store.promote(PromotionAttempt(model: model, alias: try AliasName("staging"), version: version, mode: .set, role: .admin),
                                                change: ChangeContext(actor: "test", requestID: nil, reason: "move \(version) \(script)"))
            #expect(moved.status == .applied, "\(moved)")
        }
        _ = try await store.protect(ProtectRequest(scope: "acme/m", alias: "production", role: .maintainer, requireApproval: true, gates: []), change: system)
        let pending = try await store.promote(PromotionAttempt(model: model, alias: try AliasName("production"), version: 1, mode: .promote, role: .maintainer),
                                              change: ChangeContext(actor: "alice", requestID: nil, reason: image))
        let request = try #require(pending.requestID, "\(pending)")
        let webhook = try await store.createWebhook(url: "https://hooks.example/\(image)", filter: try EventFilter(patterns: ["*"], scope: try Scope("acme/*")),
                                                    format: .json, secret: "0123456789abcdef0123", change: system)
        let everything = try await store.createWebhook(url: "https://all.example/hook", filter: try EventFilter(patterns: ["*"], scope: .registry),
                                                       format: .slack, secret: "0123456789abcdef0123", change: system)
        let event = try #require(try await store.outboxEvents(after: 0, limit: 1).first)
        let now = Timestamp.micros(Date())
        try await store.recordAttempts([AttemptRecord(PendingDelivery.unsent(event, webhook: webhook.id, now: now),
                                                      DeliveryAttempt(status: .failed, at: now, responseCode: 500, latencyMicros: 1_500, error: script,
                                                                      nextAttemptAt: now + 60_000_000),
                                                      id: "att_uitest1")])
        return Seeded(request: request, webhook: webhook.id, registryWebhook: everything.id)
    }

    /// `APIHarness.push` with a description and the run and environment it links.
    static func push(_ client: any TestClientProtocol, model: String, files: [String: [UInt8]], description: String, lineage: VersionLineageRequest?) async throws {
        let entries = files.map { ManifestEntry(path: $0.key, size: UInt64($0.value.count), digest: APIHarness.digest($0.value)) }
        let draft = try await client.execute(uri: "/api/v1/models/\(model)/drafts", method: .post, headers: APIHarness.auth,
                                             body: APIHarness.json(DraftRequest(files: entries, description: description, lineage: lineage))) { response in
            guard response.status == .created else { throw TestFailure("draft answered \(response.status): \(String(buffer: response.body))") }
            return try APIHarness.decode(DraftResponse.self, response)
        }
        for (_, bytes) in files where draft.missing.contains(APIHarness.digest(bytes)) {
            try await client.execute(uri: "/api/v1/models/\(model)/blobs/\(APIHarness.digest(bytes))", method: .put,
                                     headers: APIHarness.auth + [.contentLength: String(bytes.count)], body: ByteBuffer(bytes: bytes)) { response in
                #expect(response.status == .created, "\(String(buffer: response.body))")
            }
        }
        try await client.execute(uri: "/api/v1/models/\(model)/drafts/\(draft.draftId)/commit", method: .post, headers: APIHarness.auth) { response in
            guard response.status == .created else { throw TestFailure("commit answered \(response.status): \(String(buffer: response.body))") }
        }
    }

    /// Every page that shows seeded text.
    static let pages = ["/ui/models", "/ui/models/acme/m", "/ui/models/acme/m/versions/1", "/ui/models/acme/m/versions/2", "/ui/models/acme/m/aliases",
                        "/ui/webhooks", "/ui/retention", "/ui/requests", "/ui/audit", "/ui/models/acme/m/audit"]
}

/// The pages of webhooks, retention, alias history and the version's provenance (issue 29).
extension UIPageTests {
    @Test func everyFreeTextFieldRendersAsTextOnEveryPage() async throws {
        try await APIHarness.with { harness, client in
            _ = try await UIAdminSeed.seed(harness, client)
            var admin = UIBrowser(client)
            try await admin.signIn(APIHarness.adminToken)
            let escapedScript = "&lt;script&gt;alert(1)&lt;/script&gt;"
            let escapedImage = "&lt;img src=x onerror=alert(1)&gt;"
            var seen: [String: String] = [:]
            for uri in UIAdminSeed.pages {
                let page = try await admin.get(uri)
                #expect(page.status == .ok, "\(uri): \(page.html.prefix(500))")
                #expect(!page.html.contains("<script"), "\(uri) carries a script element")
                #expect(!page.html.contains("<img"), "\(uri) carries an img element")
                #expect(!page.html.contains("onerror=alert(1)>"), "\(uri)")
                #expect(!page.html.lowercased().contains("href=\"javascript:"), "\(uri) links a javascript: URL")
                seen[uri] = page.html
            }
            // Each field is on its page, as text.
            let expectations: [(String, String, String)] = [
                ("/ui/models", escapedScript, "model description"), ("/ui/models", escapedImage, "tag"),
                ("/ui/models/acme/m", escapedImage, "tag on the model page"), ("/ui/models/acme/m", "move 2 " + escapedScript, "alias move reason"),
                ("/ui/models/acme/m", escapedScript + " &quot;&gt;" + escapedImage, "hold reason on the model page"),
                ("/ui/models/acme/m/versions/1", escapedScript, "version description"),
                ("/ui/models/acme/m/versions/1", "https://ci.example/&quot;&gt;" + escapedImage, "check URL as a link"),
                ("/ui/models/acme/m/versions/1", "javascript:alert(1)//" + escapedScript, "a javascript: check URL as text"),
                ("/ui/models/acme/m/versions/1", "acme/\(UIAdminSeed.runID) (" + escapedScript, "run name in the lineage"),
                ("/ui/models/acme/m/versions/1", "s3://raw/&quot;&gt;" + escapedImage, "dataset URI"),
                ("/ui/models/acme/m/aliases", "move 1 " + escapedScript, "alias move reason"),
                ("/ui/webhooks", "https://hooks.example/&quot;&gt;" + escapedImage, "webhook URL"),
                ("/ui/webhooks", escapedScript, "delivery error"),
                ("/ui/retention", escapedScript + " &quot;&gt;" + escapedImage, "hold reason"),
                ("/ui/requests", "&quot;&gt;" + escapedImage, "request reason"),
            ]
            for (uri, text, what) in expectations {
                #expect(seen[uri]?.contains(text) == true, "\(what) on \(uri): \(text)")
            }
        }
    }

    @Test func versionPageDrawsItsLineageChecksAndEnvironment() async throws {
        try await APIHarness.with { harness, client in
            _ = try await UIAdminSeed.seed(harness, client)
            var admin = UIBrowser(client)
            try await admin.signIn(APIHarness.adminToken)
            let html = try await admin.get("/ui/models/acme/m/versions/1").html
            let svg = try #require(html.range(of: "<svg").flatMap { start in html.range(of: "</svg>").map { String(html[start.lowerBound..<$0.upperBound]) } })
            // raw:1 → clean:1 → run → version: four boxes in four layers, three arrows.
            #expect(svg.components(separatedBy: "<rect").count - 1 == 4, "\(svg)")
            #expect(svg.components(separatedBy: "<line").count - 1 == 3, "\(svg)")
            for text in ["acme/raw:1", "acme/clean:1", "acme/m:1", "4 layer(s)"] { #expect(svg.contains(text), "\(text) in the graph") }
            #expect(!svg.contains("<script") && !svg.contains("<foreignObject"), "no script and no HTML inside the graph")
            // Layers left to right: the source dataset's box is left of the run's, the run's left of the version's.
            func x(of label: String) -> Int? {
                guard let at = svg.range(of: ">\(label)</text>") else { return nil }
                let before = svg[..<at.lowerBound]
                guard let rect = before.range(of: "<rect x=\"", options: .backwards) else { return nil }
                return Int(before[rect.upperBound...].prefix { $0.isNumber })
            }
            let raw = try #require(x(of: "acme/raw:1")), clean = try #require(x(of: "acme/clean:1")), version = try #require(x(of: "acme/m:1"))
            #expect(raw < clean && clean < version)
            for text in ["transformers==4.35.0", UIAdminSeed.imageReference, "eval", "accuracy", "0.91", "loss", "safety", "failed", "ci-bot",
                         "<code>acme/\(UIAdminSeed.runID)</code>", "Held:"] {
                #expect(html.contains(text), "\(text) on the version page")
            }
            // Version 2 has none of it: the empty states say what to run.
            let bare = try await admin.get("/ui/models/acme/m/versions/2").html
            #expect(!bare.contains("<svg"))
            #expect(bare.contains("No lineage recorded") && bare.contains("vessel run add OWNER --dataset"))
            #expect(bare.contains("No check reported") && bare.contains("vessel check report acme/m:2"))
            #expect(bare.contains("No requirements or image recorded"))
            #expect(!bare.contains("Held:"))
        }
    }

    @Test func webhooksPageShowsWhatTheAPIWouldList() async throws {
        try await APIHarness.with { harness, client in
            let seeded = try await UIAdminSeed.seed(harness, client)
            _ = try await harness.principal("maya", .maintainer, scope: "acme/*")
            _ = try await harness.principal("vic", .viewer, scope: "acme/*")
            var admin = UIBrowser(client), maya = UIBrowser(client), vic = UIBrowser(client)
            try await admin.signIn(APIHarness.adminToken)
            try await maya.signIn(APIHarness.token(of: "maya"))
            try await vic.signIn(APIHarness.token(of: "vic"))
            let all = try await admin.get("/ui/webhooks").html
            #expect(all.contains(seeded.webhook) && all.contains(seeded.registryWebhook))
            #expect(all.contains("500") && all.contains("failed"), "the delivery attempt")
            #expect(all.contains("vessel webhook test \(seeded.registryWebhook)"), "no attempts yet: says what to run")
            let scoped = try await maya.get("/ui/webhooks")
            #expect(scoped.status == .ok)
            #expect(scoped.html.contains(seeded.webhook), "a maintainer of acme/* manages the acme/* webhook")
            #expect(!scoped.html.contains(seeded.registryWebhook) && !scoped.html.contains("all.example"), "but not the one on *")
            let viewer = try await vic.get("/ui/webhooks")
            #expect(viewer.status == .ok)
            #expect(!viewer.html.contains(seeded.webhook) && !viewer.html.contains("hooks.example"), "a viewer sees no webhook, as the API lists none")
            #expect(viewer.html.contains("No webhooks you manage"))
            #expect(all.contains(#"<a href="/ui/webhooks">Webhooks</a>"#), "a nav link")
            var anonymous = UIBrowser(client)
            let redirected = try await anonymous.get("/ui/webhooks")
            #expect(redirected.status == .seeOther && redirected.headers[.location] == "/ui/login?next=/ui/webhooks")
        }
    }

    @Test func retentionPoliciesAndHoldsAreShown() async throws {
        try await APIHarness.with { harness, client in
            _ = try await UIAdminSeed.seed(harness, client)
            _ = try await harness.principal("vic", .viewer, scope: "acme/m")
            var admin = UIBrowser(client), vic = UIBrowser(client)
            try await admin.signIn(APIHarness.adminToken)
            try await vic.signIn(APIHarness.token(of: "vic"))
            let page = try await admin.get("/ui/retention")
            #expect(page.status == .ok)
            #expect(page.html.contains("<td>acme/*</td><td>5</td><td>30d</td>"), "\(page.html)")
            #expect(page.html.contains(#"<a href="/ui/models/acme/m/versions/1">acme/m:1</a>"#))
            // Like GET /api/v1/retention: registry-wide, so a viewer of one model is refused.
            #expect(try await vic.get("/ui/retention").status == .forbidden)
            let model = try await vic.get("/ui/models/acme/m")
            #expect(model.status == .ok)
            #expect(model.html.contains("The policy of <strong>acme/*</strong> applies: keep the newest 5; keep those younger than 30d"))
            #expect(model.html.contains(#"<a href="/ui/models/acme/m/versions/1">1</a>"#), "the held version")
            #expect(!model.html.contains(#"href="/ui/retention""#), "no link to a page the viewer may not open")
            // Without a policy or holds the empty state says what to run.
            _ = try await APIHarness.push(client, model: "other/x", files: ["config.json": UIPageTests.weights])
            let bare = try await admin.get("/ui/models/other/x").html
            #expect(bare.contains("No retention policy covers other/x") && bare.contains("vessel retention set other/x --keep-last 10"))
            #expect(bare.contains("No version of this model is held"))
            #expect(bare.contains("No alias was ever moved"))
            try await harness.registry.store.removeRetentionPolicy(scope: try Scope("acme/*"), change: ChangeContext(actor: "test", requestID: nil))
            try await harness.registry.store.unhold(model: try ModelName("acme/m"), version: 1, change: ChangeContext(actor: "test", requestID: nil))
            let empty = try await admin.get("/ui/retention").html
            #expect(empty.contains("No retention policy: nothing is deleted") && empty.contains("vessel retention set"))
            #expect(empty.contains("No version is held") && empty.contains("vessel hold OWNER/NAME:VERSION --reason TEXT"))
        }
    }

    @Test func aliasHistoryShowsWhoMovedWhichAliasWhen() async throws {
        try await APIHarness.with { harness, client in
            _ = try await UIAdminSeed.seed(harness, client)
            _ = try await harness.principal("vic", .viewer, scope: "acme/m")
            _ = try await harness.principal("out", .viewer, scope: "other/*")
            var vic = UIBrowser(client), out = UIBrowser(client)
            try await vic.signIn(APIHarness.token(of: "vic"))
            try await out.signIn(APIHarness.token(of: "out"))
            let page = try await vic.get("/ui/models/acme/m/aliases")
            #expect(page.status == .ok)
            let rows = page.html.components(separatedBy: "<tr><td>").dropFirst()
            #expect(rows.count == 2, "\(page.html)")
            // Newest first: staging 1 → 2, then staging set to 1.
            #expect(rows.first?.contains("<td>staging</td><td>version 1 → version 2</td><td>test</td>") == true, "\(rows)")
            #expect(rows.last?.contains("<td>staging</td><td>set to version 1</td><td>test</td>") == true, "\(rows)")
            #expect(try await out.get("/ui/models/acme/m/aliases").status == .forbidden, "read on the model, as the API's alias history")
            #expect(try await vic.get("/ui/models/acme/none/aliases").status == .forbidden)
            var admin = UIBrowser(client)
            try await admin.signIn(APIHarness.adminToken)
            #expect(try await admin.get("/ui/models/acme/none/aliases").status == .notFound)
        }
    }
}
