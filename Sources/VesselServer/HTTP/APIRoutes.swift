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
    let role: Role?
    var change: ChangeContext { ChangeContext(actor: principal.name, requestID: requestID) }

    func change(reason: String?) -> ChangeContext { ChangeContext(actor: principal.name, requestID: requestID, reason: reason) }
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

    init(router: Router<AppContext>, tokens: any TokenStore, authorizer: any Authorizer, cache: HotReadCache, cursors: any PageCursorSource,
         clock: @escaping @Sendable () -> Int64) {
        self.router = router
        self.cursors = cursors
        self.guardian = RouteGuard(tokens: tokens, authorizer: authorizer, cache: cache, clock: clock)
    }

    func on(_ method: HTTPRequest.Method, _ path: String, _ permission: Permission, _ handler: @escaping @Sendable (Request, AppContext, Caller) async throws -> Response) {
        registered.append(Entry(method: method.rawValue, path: path, permission: permission))
        let guardian = guardian
        let cursors = cursors
        router.on(RouterPath(path), method: method) { request, context in
            let caller = try await guardian.authenticate(request, context: context, permission: permission)
            return try await ListPaging.$cursors.withValue(try await cursors.pageCursor()) {
                try await handler(request, context, caller)
            }
        }
    }

    /// The model a route acts on, from its `:owner/:name` parameters.
    static func model(from context: AppContext) throws(VesselError) -> ModelName? {
        guard let owner = context.parameters.get("owner"), let name = context.parameters.get("name") else { return nil }
        return try ModelName(owner: owner, name: name)
    }
}

/// Authenticates the bearer token and asks the authorizer, for one route's permission.
struct RouteGuard: Sendable {
    let tokens: any TokenStore
    let authorizer: any Authorizer
    let cache: HotReadCache
    let clock: @Sendable () -> Int64

    func authenticate(_ request: Request, context: AppContext, permission: Permission) async throws -> Caller {
        let anonymous = PrincipalInfo(name: "anonymous", kind: .user, createdAt: "")
        if permission == .anonymous { return Caller(principal: anonymous, requestID: context.id, role: nil) }
        guard let header = request.headers[.authorization] else {
            throw VesselError.unauthenticated("this request needs a token: run `vessel login` or set VESSEL_TOKEN")
        }
        guard header.hasPrefix("Bearer "), header.count > 7 else {
            throw VesselError.unauthenticated("the Authorization header must be 'Bearer <token>'")
        }
        let token = String(header.dropFirst(7))
        let principal = try await cache.principal(token: token) { try await tokens.authenticate(hash: Tokens.hash(token), now: clock()) }
        let model = try APIRoutes.model(from: context)
        let role = try await cache.role(principal.name, permission, model) { try await authorizer.authorize(principal, permission, model: model) }
        return Caller(principal: principal, requestID: context.id, role: role)
    }
}
