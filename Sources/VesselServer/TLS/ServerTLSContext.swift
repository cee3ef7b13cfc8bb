import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import HummingbirdTLS
import NIOCore
import NIOSSL
import VesselCore

/// The TLS side of `vessel serve`: the `TLSConfiguration` (protocol floor, client CAs, the
/// certificate callback of `CertificateReloader`) and the Hummingbird server builder that
/// wraps HTTP/1.1, or HTTP/1.1 and HTTP/2 chosen by ALPN, in it.
enum ServerTLSContext {
    /// The CAs that sign client certificates, or nil when the server asks for none.
    static func clientCAs(_ options: ServerTLSOptions) throws(VesselError) -> [NIOSSLCertificate]? {
        guard let path = options.clientCAPath else { return nil }
        guard CertificateReloader.read(path) != nil else {
            throw .invalidArgument("cannot read the client CA \(path) (--tls-client-ca)")
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw .invalidArgument("\(path) (--tls-client-ca) is not a PEM certificate")
        }
        guard !certificates.isEmpty else { throw .invalidArgument("\(path) (--tls-client-ca) holds no PEM certificate") }
        return certificates
    }

    static func configuration(_ reloader: CertificateReloader) throws(VesselError) -> TLSConfiguration {
        let options = reloader.options
        let identity = reloader.identity
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: identity.chain.map { .certificate($0) }, privateKey: .privateKey(identity.key)
        )
        configuration.minimumTLSVersion = options.minimumVersion == .tls13 ? .tlsv13 : .tlsv12
        if let roots = try clientCAs(options) {
            configuration.trustRoots = .certificates(roots)
            configuration.certificateVerification = options.clientAuth == .required ? .noHostnameVerification : .optionalVerification
            configuration.sendCANameList = true
        }
        // Every handshake serves the pair loaded now (see CertificateReloader).
        configuration.sslContextCallback = { [reloader] _, promise in
            let identity = reloader.identity
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = identity.chain.map { .certificate($0) }
            override.privateKey = .privateKey(identity.key)
            promise.succeed(override)
        }
        return configuration
    }

    /// HTTP/1.1 over TLS, with HTTP/2 offered by ALPN when `options.http2`.
    static func serverBuilder(_ reloader: CertificateReloader, idleTimeout: Duration) -> HTTPServerBuilder {
        let http1 = HTTP1Channel.Configuration(idleTimeout: TimeAmount(idleTimeout))
        let http2 = reloader.options.http2
        return HTTPServerBuilder { responder in
            let configuration = try configuration(reloader)
            if http2 {
                return try HTTP2UpgradeChannel(
                    tlsConfiguration: configuration,
                    configuration: .init(idleTimeout: idleTimeout, streamConfiguration: http1),
                    responder: responder
                )
            }
            return try TLSChannel(HTTP1Channel(responder: responder, configuration: http1), tlsConfiguration: configuration)
        }
    }
}
