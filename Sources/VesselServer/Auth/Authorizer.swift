import VesselCore
import VesselMetadata

/// What a route needs from its caller. Every route declares one (`APIRoutes.on`), so there is
/// no route that authorization forgets.
public enum Permission: String, Sendable, Hashable, CaseIterable {
    /// No token needed (health checks).
    case anonymous
    /// Any valid token (who am I; decisions on requests check roles themselves).
    case authenticated
    /// Viewer on the model's scope: read models, versions, aliases, blobs.
    case read
    /// Contributor: push versions, set unprotected aliases, request promotions, report checks.
    case write
    /// Maintainer: approve requests, read the audit log of the scope.
    case maintain
    /// Admin on `*`: principals, tokens, grants, protections, policies, `audit verify`.
    case admin

    /// The least role that satisfies this permission, if a role is needed at all.
    public var minimumRole: Role? {
        switch self {
        case .anonymous, .authenticated: nil
        case .read: .viewer
        case .write: .contributor
        case .maintain: .maintainer
        case .admin: .admin
        }
    }
}

/// The one authorization seam: decides whether `principal` may do what `permission` names on
/// `model` (nil for registry-wide routes), and returns the caller's role there.
/// Throws `forbidden` to refuse.
public protocol Authorizer: Sendable {
    func authorize(_ principal: PrincipalInfo, _ permission: Permission, model: ModelName?) async throws -> Role?
}

/// Roles granted on scopes: a grant on `*` covers everything, on `acme/*` every model of
/// `acme`, on `acme/m` that model. Registry-wide routes (model nil) need the role on `*`;
/// admin routes always do.
public struct RoleAuthorizer: Authorizer {
    let grants: any GrantStore

    public init(grants: any GrantStore) {
        self.grants = grants
    }

    public func authorize(_ principal: PrincipalInfo, _ permission: Permission, model: ModelName?) async throws -> Role? {
        let role = try await grants.role(of: principal.name, on: permission == .admin ? nil : model)
        guard let needed = permission.minimumRole else { return role }
        guard let role, role >= needed else {
            let scope = permission == .admin || model == nil ? "the registry ('*')" : "\(model?.description ?? "")"
            throw VesselError.forbidden("\(principal.name) needs the \(needed.rawValue) role on \(scope) for this; ask an admin for `vessel grant \(principal.name) \(needed.rawValue) --scope …`")
        }
        return role
    }
}
