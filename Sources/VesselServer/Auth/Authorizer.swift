import VesselCore
import VesselMetadata

/// What a route needs from its caller. Every route declares one (`APIRoutes.on`), so there is
/// no route that authorization forgets.
public enum Permission: String, Sendable, Hashable, CaseIterable {
    /// No token needed (health checks).
    case anonymous
    /// Any valid token (who am I).
    case authenticated
    /// Read a model's metadata and content.
    case read
    /// Push versions, move aliases, change version states.
    case write
    /// Principals, tokens, registry-wide operations.
    case admin
}

/// The one authorization seam: decides whether `principal` may do what `permission` names on
/// `model` (nil for registry-wide routes). Throws `forbidden` to refuse.
public protocol Authorizer: Sendable {
    func authorize(_ principal: PrincipalInfo, _ permission: Permission, model: ModelName?) async throws
}

/// Until roles exist, every authenticated principal may do everything.
public struct AllowAuthenticated: Authorizer {
    public init() {}
    public func authorize(_ principal: PrincipalInfo, _ permission: Permission, model: ModelName?) async throws {}
}
