import Foundation
import Hummingbird
import VesselCore
import VesselMetadata

/// One request of the web UI after its checks passed: who is signed in (nil on anonymous
/// routes), the session's form token and, for a POST, the decoded form.
struct UIRequest: Sendable {
    let caller: Caller?
    let session: UISession?
    let form: [String: String]
    var csrf: String { session?.csrf ?? "" }
}

/// Registers the web UI's routes. Like `APIRoutes`, every route names its `Permission` and the
/// wrapper asks the same `Authorizer` before the handler runs; here the caller is the session
/// cookie's principal instead of a bearer token. A POST must carry the session's form token
/// (`csrf`) or it is refused with 403 before the handler runs. Every answer carries the UI's
/// security headers. A page without a live session redirects to `/ui/login`.
final class UIRoutes {
    private let router: Router<AppContext>
    let sessions: any SessionStore
    let authorizer: any Authorizer
    let clock: @Sendable () -> Int64
    let cookies: UICookies
    let renderer: UIRenderer
    let assets: UIAssets
    let origin: OriginPolicy
    /// Every registered route as `METHOD path permission`, for `UIRouteTableTests`.
    private(set) var registered: [String] = []

    init(router: Router<AppContext>, sessions: any SessionStore, authorizer: any Authorizer, clock: @escaping @Sendable () -> Int64,
         cookies: UICookies, renderer: UIRenderer, assets: UIAssets, origin: OriginPolicy) {
        self.router = router
        self.sessions = sessions
        self.authorizer = authorizer
        self.clock = clock
        self.cookies = cookies
        self.renderer = renderer
        self.assets = assets
        self.origin = origin
    }

    func on(_ method: HTTPRequest.Method, _ path: String, _ permission: Permission,
            _ handler: @escaping @Sendable (Request, AppContext, UIRequest) async throws -> Response) {
        registered.append("\(method.rawValue) \(path) \(permission.rawValue)")
        let routes = UIRouteGuard(sessions: sessions, authorizer: authorizer, clock: clock, cookies: cookies, renderer: renderer, assets: assets, origin: origin)
        router.on(RouterPath(path), method: method) { request, context in
            var response = await routes.run(request, context: context, method: method, permission: permission, handler: handler)
            UIHeaders.apply(&response.headers)
            return response
        }
    }
}

/// The checks of one UI request, in order: session, form token (POST), authorization; then the
/// handler, whose `VesselError`s become HTML pages with the error's status.
struct UIRouteGuard: Sendable {
    let sessions: any SessionStore
    let authorizer: any Authorizer
    let clock: @Sendable () -> Int64
    let cookies: UICookies
    let renderer: UIRenderer
    let assets: UIAssets
    let origin: OriginPolicy

    /// Form bodies are small: a token, a reason, a form token.
    static let maxFormBytes = 64 * 1024

    func run(_ request: Request, context: AppContext, method: HTTPRequest.Method, permission: Permission,
             handler: @Sendable (Request, AppContext, UIRequest) async throws -> Response) async -> Response {
        var session: UISession?
        do {
            let form = method == .post ? try await Self.form(request, context: context) : [:]
            let address = RequestOrigin.of(request, channel: context.channel, proxies: origin.proxies, tls: origin.tls).address
            if permission == .anonymous {
                return try await handler(request, context, UIRequest(caller: nil, session: nil, form: form))
            }
            if let id = request.cookies[UICookies.session]?.value {
                session = try await sessions.session(idHash: Tokens.hash(id), now: clock())
            }
            guard let session else {
                if method == .get { return UIPage.redirect(to: "/ui/login?next=\(UIPage.query(request.uri.path))") }
                return page(.forbidden, heading: "Not signed in", message: "Your session ended; sign in again and repeat what you did.", session: nil)
            }
            if method == .post {
                guard let sent = form["csrf"], UIPage.constantTimeEqual(sent, session.csrf) else {
                    return page(.forbidden, heading: "Refused", message: "This form is missing its form token or it is stale; reload the page and try again. Nothing was changed.", session: session)
                }
            }
            let model = try APIRoutes.model(from: context)
            let role = try await authorizer.authorize(session.principal, permission, model: model)
            let caller = Caller(principal: session.principal, requestID: context.id, role: role, credential: "session", clientAddress: address)
            return try await handler(request, context, UIRequest(caller: caller, session: session, form: form))
        } catch let error as VesselError {
            let status = HTTPResponse.Status(code: error.code.httpStatus)
            let heading = switch error.code {
            case .forbidden: "Not allowed"
            case .notFound: "Not found"
            default: "Something went wrong"
            }
            return page(status, heading: heading, message: error.message, session: session)
        } catch {
            context.logger.error("ui request failed", metadata: ["error": "\(String(reflecting: error))"])
            return page(.internalServerError, heading: "Something went wrong", message: "The server failed to answer; its log has details (request id \(context.id)).", session: session)
        }
    }

    func page(_ status: HTTPResponse.Status, heading: String, message: String, session: UISession?) -> Response {
        UIPage(renderer: renderer, assets: assets, session: session)
            .response("error", title: heading, ["heading": heading, "message": message], status: status)
    }

    /// An `application/x-www-form-urlencoded` body.
    static func form(_ request: Request, context: AppContext) async throws -> [String: String] {
        var request = request
        let buffer = try await request.collectBody(upTo: maxFormBytes)
        return UIPage.decodeForm(String(buffer: buffer))
    }
}

/// The UI's security headers, on every UI answer: no script at all (not even inline), no
/// framing (`frame-ancestors 'none'`), no MIME sniffing, pages never cached. The referrer
/// policy is a `<meta>` of the layout.
enum UIHeaders {
    static let contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// The deployment page's: its one external script (`rollout.js`) may run and long-poll this
    /// origin; still no inline script (decision 0032).
    static let scriptPolicy = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static func apply(_ headers: inout HTTPFields) {
        if headers[.contentSecurityPolicy] != scriptPolicy { headers[.contentSecurityPolicy] = contentSecurityPolicy }
        headers[.xContentTypeOptions] = "nosniff"
        if headers[.cacheControl] == nil { headers[.cacheControl] = "no-store" }
    }
}

/// The UI's cookies: the session, and the form token of the sign-in form (double-submitted,
/// since there is no session yet to hold it).
struct UICookies: Sendable {
    static let session = "vessel_session"
    static let login = "vessel_login"
    /// `vessel serve --public-url https://…`: cookies are sent over HTTPS only.
    let secure: Bool

    func cookie(_ name: String, _ value: String, maxAge: Int) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/ui", secure: secure, httpOnly: true, sameSite: .strict)
    }
}
