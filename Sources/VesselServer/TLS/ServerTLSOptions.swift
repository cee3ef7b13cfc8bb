import NIOSSL
import VesselCore

/// `vessel serve --tls-cert/--tls-key` and mutual TLS (docs/tls.md).
public struct ServerTLSOptions: Sendable, Equatable {
    /// The lowest protocol version the server accepts (`--tls-min-version`).
    public enum MinimumVersion: String, Sendable, Equatable {
        case tls12 = "1.2"
        case tls13 = "1.3"
    }

    /// Whether a client must present a certificate signed by `clientCAPath` (`--tls-client-auth`).
    public enum ClientAuth: String, Sendable, Equatable {
        /// The server asks; a client without a certificate still connects (and needs a token).
        case optional
        /// A client without a verified certificate is refused during the handshake.
        case required
    }

    /// PEM: the server certificate, then any intermediates.
    public var certificatePath: String
    /// PEM: the private key of the first certificate.
    public var keyPath: String
    public var minimumVersion: MinimumVersion = .tls12
    /// PEM: the CA(s) client certificates must chain to; nil: the server asks for none.
    public var clientCAPath: String?
    public var clientAuth: ClientAuth = .required
    /// Offer HTTP/2 by ALPN next to HTTP/1.1.
    public var http2 = true
    /// How often the certificate and key files are checked for a change (also re-read on SIGHUP).
    public var reloadInterval: Duration = .seconds(5)

    public init(certificatePath: String, keyPath: String) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }

    /// `1.2` or `1.3`.
    public static func minimumVersion(_ text: String) throws(VesselError) -> MinimumVersion {
        guard let version = MinimumVersion(rawValue: text) else {
            throw .invalidArgument("--tls-min-version must be 1.2 or 1.3, not '\(text)'")
        }
        return version
    }

    /// `optional` or `required`.
    public static func clientAuth(_ text: String) throws(VesselError) -> ClientAuth {
        guard let auth = ClientAuth(rawValue: text) else {
            throw .invalidArgument("--tls-client-auth must be optional or required, not '\(text)'")
        }
        return auth
    }

    /// Checks that `path` holds at least one PEM certificate.
    /// - Throws: `invalid_argument` naming the file and `flag`.
    public static func checkCertificates(_ path: String, flag: String) throws(VesselError) {
        guard let certificates = try? NIOSSLCertificate.fromPEMFile(path), !certificates.isEmpty else {
            throw .invalidArgument("\(path) (\(flag)) is not a readable PEM certificate")
        }
    }
}
