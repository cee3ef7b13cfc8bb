import Foundation
import Hummingbird
import VesselCore
import VesselMetadata

/// Who is calling and on what, handed to every API handler after authentication and
/// authorization passed.
struct Caller: Sendable {
    let principal: PrincipalInfo
    let requestID: String
    /// The caller's highest role covering the route's model (or the registry).
    var role: Role?
    /// What authenticated the caller: `token` or `certificate <identity>` (nil: anonymous).
    var credential: String? = nil
    /// The client's address (`RequestOrigin`).
    var clientAddress: String? = nil
    var change: ChangeContext { change(reason: nil) }

    func change(reason: String?) -> ChangeContext {
        ChangeContext(actor: principal.name, requestID: requestID, reason: reason, credential: credential, clientAddress: clientAddress)
    }
}

/// Registers API routes. Every route names its `Permission`; the wrapper authenticates the
/// bearer token, asks the `Authorizer`, and only then runs the handler.
final class APIRoutes {
    struct Entry: Sendable, Hashable {
        let method: String
        let path: String
        let permission: Permission
    }

    private let router: Router<AppContext>
    private let guardian: RouteGuard
    private let cursors: any PageCursorSource
    /// Every registered route, for the authorization matrix tests.
    private(set) var registered: [Entry] = []

    /// - Parameters:
    ///   - certificates: with mutual TLS, where a client certificate's principal is looked up.
    ///   - origin: how the client's address is found (`--trust-proxy`, TLS or not).
    init(router: Router<AppContext>, tokens: any TokenStore, authorizer: any Authorizer, cache: HotReadCache, cursors: any PageCursorSource,
         clock: @escaping @Sendable () -> Int64, certificates: (any CertificateSubjectStore)? = nil, origin: OriginPolicy = OriginPolicy()) {
        self.router = router
        self.cursors = cursors
        self.guardian = RouteGuard(tokens: tokens, authorizer: authorizer, cache: cache, clock: clock, certificates: certificates, origin: origin)
    }

    /// - Parameter dialect: for a foreign protocol's routes (the Hugging Face Hub under `/hf`):
    ///   how its parameters are adjusted before authentication and how its errors are answered.
    func on(_ method: HTTPRequest.Method, _ path: String, _ permission: Permission, dialect: RouteDialect? = nil,
            _ handler: @escaping @Sendable (Request, AppContext, Caller) async throws -> Response) {
        registered.append(Entry(method: method.rawValue, path: path, permission: permission))
        let guardian = guardian
        let cursors = cursors
        @Sendable func respond(_ request: Request, _ context: AppContext) async throws -> Response {
            let caller = try await guardian.authenticate(request, context: context, permission: permission)
            return try await ListPaging.$cursors.withValue(try await cursors.pageCursor()) {
                try await handler(request, context, caller)
            }
        }
        guard let dialect else {
            router.on(RouterPath(path), method: method) { request, context in try await respond(request, context) }
            return
        }
        router.on(RouterPath(path), method: method) { request, context in
            var context = context
            dialect.prepare(&context)
            do {
                return try await respond(request, context)
            } catch {
                guard let answer = dialect.answer(error, request, context) else { throw error }
                return answer
            }
        }
    }

    /// The authorization of routes whose model arrives in the query or the body (`RouteGuard.authorize`).
    var authorization: RouteGuard { guardian }

    /// The model a route acts on, from its `:owner/:name` parameters.
    static func model(from context: AppContext) throws(VesselError) -> ModelName? {
        guard let owner = context.parameters.get("owner"), let name = context.parameters.get("name") else { return nil }
        return try ModelName(owner: owner, name: name)
    }
}

/// How a foreign protocol's routes differ from the API's: `prepare` adjusts the route's
/// parameters before authentication (the Hub lowercases `owner` and `name`), `answer` turns an
/// error (authentication's included) into the protocol's own error response, or nil to leave it
/// to `ErrorMiddleware`.
struct RouteDialect: Sendable {
    var prepare: @Sendable (inout AppContext) -> Void = { _ in }
    var answer: @Sendable (any Error, Request, AppContext) -> Response? = { _, _, _ in nil }
}

/// How a request's origin is judged: the `--trust-proxy` networks and whether the server speaks TLS.
struct OriginPolicy: Sendable {
    var proxies: [CIDR] = []
    var tls = false
}

/// Authenticates the caller (bearer token, or a client certificate mapped to a principal) and
/// asks the authorizer, for one route's permission.
///
/// With mutual TLS a verified client certificate whose subject (or a `URI:`/`DNS:` name) is
/// mapped to a principal stands for that principal. A token sent over such a connection must
/// belong to the same principal, else the request is `unauthenticated`; a certificate mapped to
/// nobody leaves the token to decide (docs/tls.md).
struct RouteGuard: Sendable {
    let tokens: any TokenStore
    let authorizer: any Authorizer
    let cache: HotReadCache
    let clock: @Sendable () -> Int64
    var certificates: (any CertificateSubjectStore)? = nil
    var origin = OriginPolicy()

    func authenticate(_ request: Request, context: AppContext, permission: Permission) async throws -> Caller {
        let anonymous = PrincipalInfo(name: "anonymous", kind: .user, createdAt: "")
        let address = RequestOrigin.of(request, channel: context.channel, proxies: origin.proxies, tls: origin.tls).address
        if permission == .anonymous { return Caller(principal: anonymous, requestID: context.id, role: nil, clientAddress: address) }
        let certified = try await certificatePrincipal(context)
        let principal: PrincipalInfo
        let credential: String
        if let header = request.headers[.authorization] {
            guard header.hasPrefix("Bearer "), header.count > 7 else {
                throw VesselError.unauthenticated("the Authorization header must be 'Bearer <token>'")
            }
            let token = String(header.dropFirst(7))
            principal = try await cache.principal(token: token) { try await tokens.authenticate(hash: Tokens.hash(token), now: clock()) }
            if let certified, certified.principal.name != principal.name {
                throw VesselError.unauthenticated("the token belongs to '\(principal.name)' but the client certificate (\(certified.identity)) stands for '\(certified.principal.name)'; send one credential, or both of the same principal")
            }
            credential = "token"
        } else if let certified {
            principal = certified.principal
            credential = "certificate \(certified.identity)"
        } else if let identity = try await unmappedCertificate(context) {
            throw VesselError.unauthenticated("the client certificate \(identity) stands for no principal: map it with `vessel principal add NAME --cert-subject '\(identity)'`, or send a token")
        } else {
            throw VesselError.unauthenticated("this request needs a token: run `vessel login` or set VESSEL_TOKEN")
        }
        let model = try APIRoutes.model(from: context)
        let role = try await cache.role(principal.name, permission, model) { try await authorizer.authorize(principal, permission, model: model) }
        return Caller(principal: principal, requestID: context.id, role: role, credential: credential, clientAddress: address)
    }

    /// For routes whose model arrives in the query or the body (registered `authenticated`):
    /// asks the authorizer for `permission` on `model`, and returns the caller with its role there.
    /// - Throws: `forbidden`.
    func authorize(_ caller: Caller, _ permission: Permission, model: ModelName) async throws -> Caller {
        var authorized = caller
        authorized.role = try await cache.role(caller.principal.name, permission, model) {
            try await authorizer.authorize(caller.principal, permission, model: model)
        }
        return authorized
    }

    /// The principal the connection's verified client certificate is mapped to, if any.
    private func certificatePrincipal(_ context: AppContext) async throws -> (principal: PrincipalInfo, identity: String)? {
        guard let certificates, let certificate = await PeerCertificate.of(context.channel) else { return nil }
        return try await certificates.principal(certificateIdentities: PeerCertificate.identities(certificate))
    }

    /// The subject of a verified client certificate that is mapped to nobody.
    private func unmappedCertificate(_ context: AppContext) async throws -> String? {
        guard certificates != nil, let certificate = await PeerCertificate.of(context.channel) else { return nil }
        return PeerCertificate.identities(certificate).first
    }
}
