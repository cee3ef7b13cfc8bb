import Hummingbird
import Logging
import NIOCore

/// The per-request context. Large manifests (100,000 files) fit in the collected-body limit;
/// blob bodies are streamed and never collected.
public struct AppContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection (or HTTP/2 stream) the request came on: its peer address and, with mutual
    /// TLS, the client certificate (`PeerCertificate`).
    public let channel: any Channel

    public init(source: Source) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    public var maxUploadSize: Int { 64 << 20 }
}
