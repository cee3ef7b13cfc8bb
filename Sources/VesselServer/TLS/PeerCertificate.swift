import NIOCore
import NIOSSL
import VesselCore
import X509

/// The client certificate of the connection a request came on (mutual TLS, docs/tls.md).
///
/// It is read from the connection's `NIOSSLHandler`: on the request's channel for HTTP/1.1, on
/// its parent (the connection) for an HTTP/2 stream. A certificate is only there when the
/// handshake verified it against `--tls-client-ca`: the server does not ask for one otherwise,
/// and BoringSSL refuses a presented certificate that does not verify, also with `optional`.
enum PeerCertificate {
    static func of(_ channel: any Channel) async -> NIOSSLCertificate? {
        if let found = try? await channel.nioSSL_peerCertificate().get() { return found }
        if let parent = channel.parent, let found = try? await parent.nioSSL_peerCertificate().get() { return found }
        return nil
    }

    /// The names a certificate can be mapped by, most specific first: its subject (RFC 4514,
    /// normalized), then each `URI:` and `DNS:` subject alternative name.
    static func identities(_ certificate: NIOSSLCertificate) -> [String] {
        guard let der = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: der) else { return [] }
        var identities: [String] = []
        if let subject = try? CertificateSubject.normalize(parsed.subject.description) { identities.append(subject) }
        if let names = try? parsed.extensions.subjectAlternativeNames {
            for name in names {
                switch name {
                case .uniformResourceIdentifier(let uri): identities.append("URI:\(uri)")
                case .dnsName(let dns): identities.append("DNS:\(dns.lowercased())")
                default: break
                }
            }
        }
        return identities
    }
}
