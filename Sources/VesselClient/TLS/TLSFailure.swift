import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import VesselCore

/// Turns a failed TLS handshake into an error that names its cause (exit 6, `unavailable`):
/// the server's certificate has expired (or is not valid yet), is signed by an authority this
/// client does not trust, or does not name the host; or the server wants a client certificate.
///
/// BoringSSL reports only "CERTIFICATE_VERIFY_FAILED" through AsyncHTTPClient, so a refused
/// certificate is diagnosed by two more handshakes with the same settings (`diagnose`): one that
/// checks nothing, to read the certificate's dates and names, and one that checks the chain but
/// not the host name.
enum TLSFailure {
    /// A handshake that failed (not a TLS connection cut later, which may be retried like any cut).
    static func isTLSFailure(_ error: any Error) -> Bool {
        if let error = error as? NIOSSLError, case .uncleanShutdown = error { return false }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError { return true }
        let text = String(describing: error)
        return text.contains("handshakeFailed") || text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("TLSV1_ALERT") || text.contains("SSLV3_ALERT")
    }

    static func explain(_ error: any Error, server: String, tls: ClientTLS) async -> VesselError {
        let text = String(describing: error)
        let prefix = "TLS handshake with \(server) failed"
        if text.contains("CERTIFICATE_REQUIRED") || (text.contains("SSLV3_ALERT_HANDSHAKE_FAILURE") && tls.clientCertPath == nil) {
            return VesselError(.unavailable, "\(prefix): the server requires a client certificate; pass --client-cert and --client-key (or VESSEL_CLIENT_CERT and VESSEL_CLIENT_KEY)")
        }
        if text.contains("TLSV1_ALERT_UNKNOWN_CA") || text.contains("SSLV3_ALERT_BAD_CERTIFICATE") || text.contains("CERTIFICATE_EXPIRED") && tls.clientCertPath != nil {
            return VesselError(.unavailable, "\(prefix): the server refused the client certificate \(tls.clientCertPath ?? "") (not signed by a CA it trusts, or expired)")
        }
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("failedToValidateHostname"), let url = URL(string: server), let host = url.host {
            let port = url.port ?? 443
            let cause = await diagnose(host: host, port: port, tls: tls)
            return VesselError(.unavailable, "\(prefix): \(cause)")
        }
        return VesselError(.unavailable, "\(prefix): \(text)")
    }

    /// The cause of a refused server certificate, in words.
    static func diagnose(host: String, port: Int, tls: ClientTLS) async -> String {
        var unchecked = tls.configuration()
        unchecked.certificateVerification = .none
        guard case .success(let leaf) = await handshake(host: host, port: port, configuration: unchecked), let leaf else {
            return "the server's certificate could not be verified (CERTIFICATE_VERIFY_FAILED)"
        }
        let now = time(nil)
        if leaf.notValidAfter < now {
            return "the server's certificate has expired (valid until \(date(leaf.notValidAfter)))"
        }
        if leaf.notValidBefore > now {
            return "the server's certificate is not valid yet (valid from \(date(leaf.notValidBefore)))"
        }
        var chainOnly = tls.configuration()
        chainOnly.certificateVerification = .noHostnameVerification
        if case .success = await handshake(host: host, port: port, configuration: chainOnly) {
            let names = leaf._subjectAlternativeNames().compactMap(Self.name)
            return "the server's certificate does not name \(host) (name mismatch; it is for \(names.isEmpty ? "no DNS name or IP address" : names.joined(separator: ", ")))"
        }
        return "the server's certificate is signed by an unknown authority (not in the system trust store\(tls.caCertPath.map { " or \($0)" } ?? "")); pass the CA that signed it with --ca-cert, VESSEL_CA_CERT or ca_cert in the config file"
    }

    static func name(_ entry: _SubjectAlternativeName) -> String? {
        let bytes = Array(entry.contents)
        switch entry.nameType {
        case .dnsName: return String(decoding: bytes, as: UTF8.self)
        case .ipAddress where bytes.count == 4: return bytes.map(String.init).joined(separator: ".")
        case .ipAddress: return "an IPv6 address"
        default: return nil
        }
    }

    static func date(_ seconds: time_t) -> String {
        Timestamp.rfc3339(micros: Int64(seconds) * 1_000_000)
    }

    /// One handshake; its result is the server's leaf certificate, or the failure.
    static func handshake(host: String, port: Int, configuration: TLSConfiguration) async -> Result<NIOSSLCertificate?, any Error> {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let handshake = loop.makePromise(of: Void.self)
        do {
            let context = try NIOSSLContext(configuration: configuration)
            let sni = IPAddressText.isLiteral(host) ? nil : host
            let channel = try await ClientBootstrap(group: loop)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: sni))
                        try channel.pipeline.syncOperations.addHandler(HandshakeWaiter(promise: handshake))
                    }
                }
                .connect(host: host, port: port).get()
            defer { channel.close(promise: nil) }
            try await handshake.futureResult.get()
            return .success(try await channel.nioSSL_peerCertificate().get())
        } catch {
            handshake.fail(error)  // a no-op once the handshake finished; never left pending
            return .failure(error)
        }
    }
}

enum IPAddressText {
    static func isLiteral(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), &v6) == 1
    }
}

/// Completes `promise` when the TLS handshake finished or failed.
final class HandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<Void>

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { promise.succeed(()) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.eof)
        context.fireChannelInactive()
    }
}
