import Foundation
import Hummingbird
import VesselCore
import VesselMetadata

/// The web UI (issue 29, docs/ui.md): server-rendered pages under `/ui/`, each behind the same
/// `Authorizer` as the API through `UIRoutes`; its decisions call the same store methods as the
/// API's (`GovernanceStore.decide`, `DeploymentStore.rollbackDeployment`).
struct UIController: Sendable {
    typealias Store = any MetadataStore & SessionStore & NodeStore & LineageStore & UIReadStore & WebhookStore & RetentionStore
    let store: Store
    let renderer: UIRenderer
    let assets: UIAssets
    let cookies: UICookies
    let clock: @Sendable () -> Int64
    /// Wakes the deployment page's long-poll (`…/deployments/:env/watch`) like the API's.
    var deploymentWatch = DeploymentWatch()
    /// How long a session lasts at most (never past its token's expiry).
    static let sessionLifetime: Int64 = 12 * 3600 * 1_000_000

    func register(_ routes: UIRoutes, router: Router<AppContext>) {
        // `/` is the UI's front door; the API lives under /api/v1.
        routes.on(.get, "/", .anonymous) { _, _, _ in UIPage.redirect(to: "/ui/models") }
        // Also answers `/ui/`: the router ignores a trailing slash.
        routes.on(.get, "/ui", .anonymous) { _, _, _ in UIPage.redirect(to: "/ui/models") }
        for asset in assets.all {
            let assets = assets
            routes.on(.get, asset.path, .anonymous) { _, _, _ in assets.response(asset) }
        }
        routes.on(.get, "/ui/login", .anonymous) { request, _, _ in try await loginForm(request) }
        routes.on(.post, "/ui/login", .anonymous) { request, context, ui in try await login(request, context: context, ui) }
        routes.on(.post, "/ui/logout", .authenticated) { request, context, ui in
            if let id = request.cookies[UICookies.session]?.value, let caller = ui.caller {
                try await store.endSession(idHash: Tokens.hash(id), change: caller.change)
            }
            var response = UIPage.redirect(to: "/ui/login")
            response.setCookie(cookies.cookie(UICookies.session, "", maxAge: 0))
            return response
        }
        registerModelPages(routes)
        registerGovernancePages(routes)
        registerDeploymentPages(routes)
        registerAdminPages(routes)
    }

    func page(_ ui: UIRequest) -> UIPage {
        UIPage(renderer: renderer, assets: assets, session: ui.session)
    }

    /// The sign-in form, with a fresh form token double-submitted as a cookie.
    func loginForm(_ request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) async throws -> Response {
        let next = UIPage.safeNext(request.uri.queryParameters.get("next").map { String($0) })
        if error == nil, let id = request.cookies[UICookies.session]?.value,
           try await store.session(idHash: Tokens.hash(id), now: clock()) != nil {
            return UIPage.redirect(to: next)
        }
        let csrf = UIPage.randomToken()
        var response = UIPage(renderer: renderer, assets: assets, session: nil)
            .response("login", title: "Sign in", ["csrf": csrf, "next": next, "error": error ?? false], status: status)
        response.setCookie(cookies.cookie(UICookies.login, csrf, maxAge: 3600))
        return response
    }

    func login(_ request: Request, context: AppContext, _ ui: UIRequest) async throws -> Response {
        guard let sent = ui.form["csrf"], let expected = request.cookies[UICookies.login]?.value, !expected.isEmpty,
              UIPage.constantTimeEqual(sent, expected) else {
            return try await loginForm(request, error: "The sign-in form expired or came from elsewhere; nothing was done. Try again.", status: .forbidden)
        }
        let token = (ui.form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { return try await loginForm(request, error: "Paste a token to sign in.", status: .badRequest) }
        let id = UIPage.randomToken()
        let session: UISession
        do {
            let address = RequestOrigin.of(request, channel: context.channel, proxies: [], tls: false).address
            session = try await store.createSession(idHash: Tokens.hash(id), tokenHash: Tokens.hash(token), csrf: UIPage.randomToken(),
                                                    expiresAt: clock() + Self.sessionLifetime,
                                                    change: ChangeContext(actor: "anonymous", requestID: context.id, credential: "token", clientAddress: address))
        } catch let error as VesselError where error.code == .unauthenticated {
            return try await loginForm(request, error: error.message, status: .unauthorized)
        }
        var response = UIPage.redirect(to: UIPage.safeNext(ui.form["next"]))
        let seconds = max(1, Int((session.expiresAt - clock()) / 1_000_000))
        response.setCookie(cookies.cookie(UICookies.session, id, maxAge: seconds))
        response.setCookie(cookies.cookie(UICookies.login, "", maxAge: 0))
        return response
    }
}
