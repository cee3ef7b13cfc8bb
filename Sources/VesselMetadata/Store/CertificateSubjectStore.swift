import VesselCore

/// Client certificates that stand for principals (mutual TLS, docs/tls.md). Identities are
/// `CertificateSubject.normalize`d text: a subject (`CN=ci-bot,O=Example`), `URI:…` or `DNS:…`.
public protocol CertificateSubjectStore: Sendable {
    /// Creates a principal that the given certificate identities stand for, in one transaction
    /// (audit `principal.create`, then `principal.cert_subject.add` per identity).
    /// - Throws: `already_exists` when the principal or one of the identities exists already;
    ///   `invalid_argument` for a bad name or identity.
    func createPrincipal(name: String, kind: PrincipalKind, certificateSubjects: [String], change: ChangeContext) async throws -> PrincipalInfo

    /// The principal the first of `identities` that is mapped stands for, and that identity;
    /// nil when none is.
    func principal(certificateIdentities identities: [String]) async throws -> (principal: PrincipalInfo, identity: String)?

    /// The identities mapped to a principal, in order.
    func certificateSubjects(of principal: String) async throws -> [String]
}
