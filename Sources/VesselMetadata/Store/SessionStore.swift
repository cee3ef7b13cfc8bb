import VesselCore

/// A signed-in web UI session (issue 29), as read back for a request.
public struct UISession: Sendable, Equatable {
    public var principal: PrincipalInfo
    /// The session's form token: every POST of the UI must carry it.
    public var csrf: String
    /// Microseconds since the epoch; never later than the token's expiry.
    public var expiresAt: Int64

    public init(principal: PrincipalInfo, csrf: String, expiresAt: Int64) {
        self.principal = principal
        self.csrf = csrf
        self.expiresAt = expiresAt
    }
}

/// Web UI sessions, kept in the database so every replica shares them. Only the SHA-256 of a
/// session id is stored. A session lives no longer than the token it was opened with: it is
/// not found once that token is revoked or expired, or once it was ended.
public protocol SessionStore: Sendable {
    /// Opens a session for the live token with hash `tokenHash`, ending at `expiresAt` or at
    /// the token's expiry, whichever is first; audited as `session.create` with the token's
    /// principal as the actor (`change.actor` is replaced).
    /// - Throws: `unauthenticated` for an unknown, revoked or expired token.
    func createSession(idHash: String, tokenHash: String, csrf: String, expiresAt: Int64, change: ChangeContext) async throws -> UISession
    /// The live session with this id hash, nil when there is none (never opened, ended,
    /// expired, or its token revoked or expired).
    func session(idHash: String, now: Int64) async throws -> UISession?
    /// Ends a session (idempotent); audited as `session.end` when one was open.
    func endSession(idHash: String, change: ChangeContext) async throws
}
