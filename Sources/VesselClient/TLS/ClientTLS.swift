import Foundation
import NIOSSL
import VesselCore

/// How the client checks an `https://` server and which certificate it presents (docs/tls.md).
///
/// The system trust store is always used; `caCertPath` adds a private CA to it. Verification is
/// only skipped with `insecureSkipVerify` (`--insecure-skip-verify`), which warns on every use;
/// nothing ever falls back to plain HTTP.
public struct ClientTLS: Sendable, Equatable {
    /// PEM CA certificate(s) trusted besides the system store (`--ca-cert`, `VESSEL_CA_CERT`, `ca_cert`).
    public var caCertPath: String?
    /// PEM certificate presented to a server that asks (`--client-cert`, `VESSEL_CLIENT_CERT`, `client_cert`).
    public var clientCertPath: String?
    /// Its PEM private key (`--client-key`, `VESSEL_CLIENT_KEY`, `client_key`).
    public var clientKeyPath: String?
    /// Accept any server certificate (`--insecure-skip-verify`, `VESSEL_INSECURE_SKIP_VERIFY=1`).
    public var insecureSkipVerify = false

    public init(caCertPath: String? = nil, clientCertPath: String? = nil, clientKeyPath: String? = nil, insecureSkipVerify: Bool = false) {
        self.caCertPath = caCertPath
        self.clientCertPath = clientCertPath
        self.clientKeyPath = clientKeyPath
        self.insecureSkipVerify = insecureSkipVerify
    }

    /// The warning printed whenever verification is off.
    public static let insecureWarning = "warning: --insecure-skip-verify: the server's certificate is NOT checked; anyone on the network path can read and change this traffic, including the token"

    /// Checks that every named file is readable PEM of the right kind.
    /// - Throws: `invalid_argument` (exit 2) naming the file and the flag.
    public func validate() throws(VesselError) {
        if clientCertPath != nil && clientKeyPath == nil || clientCertPath == nil && clientKeyPath != nil {
            throw .invalidArgument("--client-cert and --client-key go together (or VESSEL_CLIENT_CERT and VESSEL_CLIENT_KEY)")
        }
        if let caCertPath { _ = try Self.certificates(caCertPath, flag: "--ca-cert") }
        if let clientCertPath { _ = try Self.certificates(clientCertPath, flag: "--client-cert") }
        if let clientKeyPath {
            guard let bytes = FileManager.default.contents(atPath: clientKeyPath) else {
                throw .invalidArgument("cannot read the client key \(clientKeyPath) (--client-key)")
            }
            guard (try? NIOSSLPrivateKey(bytes: Array(bytes), format: .pem)) != nil else {
                throw .invalidArgument("\(clientKeyPath) (--client-key) is not an unencrypted PEM private key")
            }
        }
    }

    static func certificates(_ path: String, flag: String) throws(VesselError) -> [NIOSSLCertificate] {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw .invalidArgument("cannot read \(path) (\(flag))")
        }
        guard let certificates = try? NIOSSLCertificate.fromPEMBytes(Array(bytes)), !certificates.isEmpty else {
            throw .invalidArgument("\(path) (\(flag)) is not a PEM certificate")
        }
        return certificates
    }

    /// The configuration AsyncHTTPClient (and the diagnosis) connects with.
    public func configuration() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caCertPath, let roots = try? Self.certificates(caCertPath, flag: "--ca-cert") {
            configuration.additionalTrustRoots = [.certificates(roots)]
        }
        if let clientCertPath, let clientKeyPath, let chain = try? Self.certificates(clientCertPath, flag: "--client-cert"),
           let key = try? NIOSSLPrivateKey(file: clientKeyPath, format: .pem) {
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(key)
        }
        if insecureSkipVerify { configuration.certificateVerification = .none }
        return configuration
    }
}
