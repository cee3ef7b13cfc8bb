import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOSSL
import ServiceLifecycle
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// The server's certificate and key, re-read on SIGHUP and when the files change, without
/// dropping a connection (docs/tls.md, "Rotation").
///
/// How a new certificate reaches new connections: the server's `NIOSSLContext` is built once,
/// with NIOSSL's `sslContextCallback`, which BoringSSL calls on every ClientHello; it answers
/// with the chain and key held here *now* (`NIOSSLContextConfigurationOverride`). A connection
/// keeps the certificate it shook hands with until it closes; the next handshake gets the new one.
///
/// Every `reloadInterval` (and on SIGHUP) both files are read and compared with the bytes last
/// loaded; a change is loaded only if the pair parses and the key belongs to the certificate
/// (a context is built from it as a check), else the old pair keeps serving and the problem is
/// logged — a half-written rotation (certificate replaced, key not yet) is picked up on the
/// next poll once both are in place.
public final class CertificateReloader: Service, Sendable {
    /// What serves handshakes now.
    public struct Identity: Sendable {
        public let chain: [NIOSSLCertificate]
        public let key: NIOSSLPrivateKey
        let certificateBytes: [UInt8]
        let keyBytes: [UInt8]
        /// The leaf's serial number in hex (for the log).
        public var serial: String { chain.first.map { $0.serialNumber.map { String(format: "%02x", $0) }.joined() } ?? "?" }
    }

    public let options: ServerTLSOptions
    private let logger: Logger
    private let current: NIOLockedValueBox<Identity>
    private let reloads = NIOLockedValueBox(0)

    /// Loads the pair once.
    /// - Throws: `invalid_argument` (exit 2) naming the file for a missing or unreadable file,
    ///   one that is not PEM, or a key that does not belong to the certificate.
    public init(options: ServerTLSOptions, logger: Logger) throws(VesselError) {
        self.options = options
        self.logger = logger
        let identity = try Self.load(options)
        current = NIOLockedValueBox(identity)
        // The client CA is read once, at start: fail here rather than at the first handshake.
        _ = try ServerTLSContext.clientCAs(options)
    }

    public var identity: Identity { current.withLockedValue { $0 } }

    /// How many times a changed pair was loaded since start.
    public var reloadCount: Int { reloads.withLockedValue { $0 } }

    /// Re-reads both files; loads them if they changed and are valid.
    /// - Returns: whether a new pair was loaded.
    @discardableResult
    public func reload(reason: String) -> Bool {
        let old = identity
        guard let certificateBytes = Self.read(options.certificatePath), let keyBytes = Self.read(options.keyPath) else {
            logger.warning("TLS: cannot read --tls-cert or --tls-key (\(reason)); still serving certificate \(old.serial)")
            return false
        }
        guard certificateBytes != old.certificateBytes || keyBytes != old.keyBytes else { return false }
        do {
            let identity = try Self.parse(options, certificateBytes: certificateBytes, keyBytes: keyBytes)
            current.withLockedValue { $0 = identity }
            reloads.withLockedValue { $0 += 1 }
            logger.notice("TLS: loaded a new certificate (\(reason))", metadata: ["serial": "\(identity.serial)", "previous": "\(old.serial)"])
            return true
        } catch {
            logger.warning("TLS: the changed certificate or key was not loaded (\(reason)): \(error.message); still serving certificate \(old.serial)")
            return false
        }
    }

    /// Polls the files every `reloadInterval` and reloads on SIGHUP, until shutdown.
    public func run() async throws {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler { [self] in self.reload(reason: "SIGHUP") }
        source.resume()
        defer { source.cancel() }
        let interval = options.reloadInterval
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            reload(reason: "file changed")
        }
    }

    static func read(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { Array($0) }
    }

    static func load(_ options: ServerTLSOptions) throws(VesselError) -> Identity {
        guard let certificateBytes = read(options.certificatePath) else {
            throw .invalidArgument("cannot read the TLS certificate \(options.certificatePath) (--tls-cert): \(FileManager.default.fileExists(atPath: options.certificatePath) ? "permission denied" : "no such file")")
        }
        guard let keyBytes = read(options.keyPath) else {
            throw .invalidArgument("cannot read the TLS key \(options.keyPath) (--tls-key): \(FileManager.default.fileExists(atPath: options.keyPath) ? "permission denied" : "no such file")")
        }
        return try parse(options, certificateBytes: certificateBytes, keyBytes: keyBytes)
    }

    static func parse(_ options: ServerTLSOptions, certificateBytes: [UInt8], keyBytes: [UInt8]) throws(VesselError) -> Identity {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(certificateBytes)
        } catch {
            throw .invalidArgument("\(options.certificatePath) (--tls-cert) is not a PEM certificate")
        }
        guard !chain.isEmpty else { throw .invalidArgument("\(options.certificatePath) (--tls-cert) holds no PEM certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            throw .invalidArgument("\(options.keyPath) (--tls-key) is not an unencrypted PEM private key")
        }
        // BoringSSL refuses a key that does not belong to the leaf when a context is built from both.
        do {
            _ = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
        } catch {
            throw .invalidArgument("the key \(options.keyPath) (--tls-key) does not belong to the certificate \(options.certificatePath) (--tls-cert)")
        }
        return Identity(chain: chain, key: key, certificateBytes: certificateBytes, keyBytes: keyBytes)
    }
}
