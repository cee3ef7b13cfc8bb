import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselMetadata
@testable import VesselServer

/// The web UI in process (issue 29): sign-in, sessions, form tokens, the headers, escaping, and
/// that the UI's decisions go through the same authorization and governance as the API.
@Suite struct UIPageTests {
    static let weights = Array(#"{"architectures": ["test"]}"#.utf8)
    static let payload = "<script>alert(1)</script>"

    @Test func loggedOutPagesRedirectToSignIn() async throws {
        try await APIHarness.with { _, client in
            for (uri, location) in [("/", "/ui/models"), ("/ui/", "/ui/models"), ("/ui/models", "/ui/login?next=/ui/models"),
                                    ("/ui/models/acme/m", "/ui/login?next=/ui/models/acme/m"), ("/ui/audit", "/ui/login?next=/ui/audit")] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .seeOther, "\(uri)")
                    #expect(response.headers[.location] == location, "\(uri)")
                }
            }
            // A POST without a session changes nothing and is refused.
            var browser = UIBrowser(client)
            let answer = try await browser.post("/ui/requests/nope/approve", csrf: "x")
            #expect(answer.status == .forbidden)
            _ = try await browser.get("/ui/login")
        }
    }

    @Test func signInSetsAStrictHttpOnlyCookieAndPagesCarryTheSecurityHeaders() async throws {
        try await APIHarness.with { _, client in
            let (loginCookie, formToken) = try await client.execute(uri: "/ui/login", method: .get) { response in
                #expect(response.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
                #expect(response.headers[.contentSecurityPolicy]?.contains("script-src") == false)
                #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                return (try #require(UIBrowser.cookie(UICookies.login, in: response)), try #require(UIBrowser.formToken(String(buffer: response.body))))
            }
            try await client.execute(uri: "/ui/login", method: .post, headers: [.cookie: "\(UICookies.login)=\(loginCookie)", .contentType: "application/x-www-form-urlencoded"],
                                     body: ByteBuffer(string: "csrf=\(formToken)&token=\(APIHarness.adminToken)")) { response in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/ui/models")
                let cookie = try #require(response.headers[values: .setCookie].first { $0.hasPrefix("\(UICookies.session)=") })
                #expect(cookie.contains("HttpOnly"))
                #expect(cookie.contains("SameSite=Strict"))
                #expect(!cookie.contains("Secure"), "plain http without --public-url https://")
            }
            var browser = UIBrowser(client)
            #expect(try await browser.signIn(APIHarness.adminToken) == .seeOther)
            for uri in ["/ui/models", "/ui/requests", "/ui/deployments", "/ui/audit"] {
                let page = try await browser.get(uri)
                #expect(page.status == .ok, "\(uri): \(page.html)")
                #expect(page.headers[.contentSecurityPolicy] == UIHeaders.contentSecurityPolicy, "\(uri)")
                #expect(page.headers[.xContentTypeOptions] == "nosniff", "\(uri)")
                #expect(page.headers[.cacheControl] == "no-store", "\(uri)")
                #expect(!page.html.contains("<script"), "\(uri) has no script at all")
                #expect(page.html.contains("Signed in as <strong>admin</strong>"), "\(uri)")
            }
        }
    }

    @Test func secureCookieWithAnHTTPSPublicURL() async throws {
        try await APIHarness.with(configure: { $0.publicURL = "https://vessel.example" }) { _, client in
            let (loginCookie, formToken) = try await client.execute(uri: "/ui/login", method: .get) { response in
                let cookie = try #require(response.headers[values: .setCookie].first)
                #expect(cookie.contains("Secure"))
                return (try #require(UIBrowser.cookie(UICookies.login, in: response)), try #require(UIBrowser.formToken(String(buffer: response.body))))
            }
            try await client.execute(uri: "/ui/login", method: .post, headers: [.cookie: "\(UICookies.login)=\(loginCookie)", .contentType: "application/x-www-form-urlencoded"],
                                     body: ByteBuffer(string: "csrf=\(formToken)&token=\(APIHarness.adminToken)")) { response in
                let cookie = try #require(response.headers[values: .setCookie].first { $0.hasPrefix("\(UICookies.session)=") })
                #expect(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
            }
        }
    }

    @Test func signInRefusesABadTokenAndAFormWithoutItsToken() async throws {
        try await APIHarness.with { _, client in
            var browser = UIBrowser(client)
            #expect(try await browser.signIn("vsl_not-a-token") == .unauthorized)
            #expect(browser.session == nil)
            // The sign-in form's token missing: 403, no session.
            try await client.execute(uri: "/ui/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                     body: ByteBuffer(string: "token=\(APIHarness.adminToken)")) { response in
                #expect(response.status == .forbidden)
                #expect(UIBrowser.cookie(UICookies.session, in: response) == nil)
            }
            // `next` never leads to another site.
            #expect(UIPage.safeNext("//evil.example/ui/") == "/ui/models")
            #expect(UIPage.safeNext("https://evil.example/ui/") == "/ui/models")
            #expect(UIPage.safeNext("/ui/audit") == "/ui/audit")
        }
    }

    @Test func userTextIsEscaped() async throws {
        try await APIHarness.with { harness, client in
            let system = ChangeContext(actor: "test", requestID: nil)
            _ = try await harness.registry.store.createModel(try ModelName("acme/xss"), description: Self.payload, tags: ["<b>tag</b>"], change: system)
            _ = try await APIHarness.push(client, model: "acme/xss", files: ["config.json": Self.weights])
            var browser = UIBrowser(client)
            try await browser.signIn(APIHarness.adminToken)
            for uri in ["/ui/models", "/ui/models/acme/xss"] {
                let page = try await browser.get(uri)
                #expect(page.status == .ok)
                #expect(page.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "\(uri)")
                #expect(!page.html.contains(Self.payload), "\(uri)")
                #expect(page.html.contains("&lt;b&gt;tag&lt;/b&gt;") && !page.html.contains("<b>tag</b>"), "\(uri)")
            }
            // A search term is written back into the form escaped too.
            let search = try await browser.get("/ui/models?q=%22%3E%3Cscript%3E")
            #expect(!search.html.contains("\"><script>"))
        }
    }

    @Test func versionPageShowsFilesThePullCommandAndTheEmptyStates() async throws {
        try await APIHarness.with { _, client in
            var browser = UIBrowser(client)
            try await browser.signIn(APIHarness.adminToken)
            let empty = try await browser.get("/ui/models")
            #expect(empty.html.contains("vessel push OWNER/NAME ./folder"))
            _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.weights])
            let model = try await browser.get("/ui/models/acme/m")
            #expect(model.html.contains("/ui/models/acme/m/versions/1"))
            #expect(model.html.contains("vessel promote acme/m:VERSION"), "no aliases yet: says what to run")
            let version = try await browser.get("/ui/models/acme/m/versions/1")
            #expect(version.status == .ok)
            #expect(version.html.contains("vessel pull acme/m:1 ./m"))
            #expect(version.html.contains("config.json"))
            #expect(version.html.contains("Unsigned."))
            let missing = try await browser.get("/ui/models/acme/m/versions/9")
            #expect(missing.status == .notFound)
            #expect(!missing.html.contains("{\"error\""), "an HTML page, not the API's JSON")
        }
    }

    @Test func formsWithoutTheirTokenAreRefusedAndChangeNothing() async throws {
        try await APIHarness.with { harness, client in
            let id = try await Self.pendingPromotion(harness, client)
            _ = try await harness.principal("bob", .maintainer)
            var bob = UIBrowser(client)
            try await bob.signIn(APIHarness.token(of: "bob"))
            for csrf in [nil, "wrong", ""] as [String?] {
                let answer = try await bob.post("/ui/requests/\(id)/approve", csrf: csrf)
                #expect(answer.status == .forbidden)
                #expect(answer.html.contains("Nothing was changed"))
            }
            let logout = try await bob.post("/ui/logout", csrf: nil)
            #expect(logout.status == .forbidden, "signing out needs the form token too")
            #expect(try await Self.status(of: id, harness) == "pending")
            #expect(try await harness.registry.store.aliases(model: try ModelName("acme/m")).isEmpty)
        }
    }

    @Test func aViewerSeesNoApproveButtonAndItsApproveChangesNothing() async throws {
        try await APIHarness.with { harness, client in
            let id = try await Self.pendingPromotion(harness, client)
            _ = try await harness.principal("val", .viewer)
            var viewer = UIBrowser(client)
            try await viewer.signIn(APIHarness.token(of: "val"))
            let page = try await viewer.get("/ui/requests")
            #expect(page.status == .ok)
            #expect(page.html.contains(id), "a viewer sees the request")
            #expect(!page.html.contains("Approve"))
            #expect(!page.html.contains("/approve"))
            let answer = try await viewer.post("/ui/requests/\(id)/approve", csrf: viewer.csrf)
            #expect(answer.status == .forbidden)
            #expect(answer.html.contains("needs the maintainer role"))
            #expect(try await Self.status(of: id, harness) == "pending")
            // A viewer cannot read the audit either.
            #expect(try await viewer.get("/ui/audit").status == .forbidden)
        }
    }

    @Test func aSecondMaintainerApprovesThroughTheUI() async throws {
        try await APIHarness.with { harness, client in
            let id = try await Self.pendingPromotion(harness, client)
            _ = try await harness.principal("bob", .maintainer)
            var alice = UIBrowser(client)
            try await alice.signIn(APIHarness.token(of: "alice"))
            let own = try await alice.post("/ui/requests/\(id)/approve", csrf: alice.csrf)
            #expect(own.status == .forbidden, "the requester cannot approve")
            var bob = UIBrowser(client)
            try await bob.signIn(APIHarness.token(of: "bob"))
            let page = try await bob.get("/ui/requests")
            #expect(page.html.contains("/ui/requests/\(id)/approve"))
            let answer = try await bob.post("/ui/requests/\(id)/approve", csrf: bob.csrf)
            #expect(answer.status == .ok, "\(answer.html)")
            #expect(answer.html.contains("approved"))
            #expect(try await Self.status(of: id, harness) == "approved")
            let aliases = try await harness.registry.store.aliases(model: try ModelName("acme/m"))
            #expect(aliases.map(\.alias) == ["production"])
            // The audit entry names bob and came through the session.
            var admin = UIBrowser(client)
            try await admin.signIn(APIHarness.adminToken)
            let audit = try await admin.get("/ui/audit?actor=bob")
            #expect(audit.html.contains("promotion.approve") || audit.html.contains("alias.set") || audit.html.contains("promotion"))
            let verified = try await admin.post("/ui/audit/verify", csrf: admin.csrf)
            #expect(verified.html.contains("The chain verified"))
        }
    }

    @Test func aSessionEndsWithItsTokenAndOnSignOut() async throws {
        try await APIHarness.with { harness, client in
            _ = try await harness.principal("tess", .viewer)
            var browser = UIBrowser(client)
            try await browser.signIn(APIHarness.token(of: "tess"))
            #expect(try await browser.get("/ui/models").status == .ok)
            let token = try #require(try await harness.registry.store.listTokens().first { $0.principal == "tess" })
            try await harness.registry.store.revokeToken(id: token.id, change: ChangeContext(actor: "test", requestID: nil))
            let after = try await browser.get("/ui/models")
            #expect(after.status == .seeOther)
            #expect(after.headers[.location]?.hasPrefix("/ui/login") == true)

            var admin = UIBrowser(client)
            try await admin.signIn(APIHarness.adminToken)
            let out = try await admin.post("/ui/logout", csrf: admin.csrf)
            #expect(out.status == .seeOther)
            #expect(try await admin.get("/ui/models").status == .seeOther, "the old cookie opens nothing after signing out")
        }
    }

    @Test func aSessionLastsNoLongerThanItsToken() async throws {
        try await APIHarness.with { harness, client in
            let now = Timestamp.micros(Date())
            _ = try await harness.principal("brief", .viewer, expiresAt: now + 60_000_000)
            var browser = UIBrowser(client)
            try await browser.signIn(APIHarness.token(of: "brief"))
            let session = try #require(browser.session)
            let live = try #require(try await harness.registry.store.session(idHash: Tokens.hash(session), now: now))
            #expect(live.expiresAt <= now + 60_000_000)
            #expect(try await harness.registry.store.session(idHash: Tokens.hash(session), now: now + 61_000_000) == nil)
        }
    }

    /// alice (maintainer) asks to promote version 1 of acme/m to production, which needs approval.
    static func pendingPromotion(_ harness: APIHarness, _ client: any TestClientProtocol) async throws -> String {
        let alice = try await harness.principal("alice", .maintainer)
        try await APIHarness.protect(client, ProtectRequest(scope: "acme/m", alias: "production", role: .maintainer, requireApproval: true, gates: []))
        _ = try await APIHarness.push(client, model: "acme/m", files: ["config.json": weights])
        let pending = try await APIHarness.promote(client, alice, version: 1, to: "production")
        #expect(pending.status == .pending)
        return try #require(pending.requestID)
    }

    static func status(of id: String, _ harness: APIHarness) async throws -> String? {
        try await harness.registry.store.promotionRequests(model: nil).first { $0.id == id }?.status
    }
}
