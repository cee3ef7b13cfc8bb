import Hummingbird
import Logging

/// The per-request context. Large manifests (100,000 files) fit in the collected-body limit;
/// blob bodies are streamed and never collected.
public struct AppContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: Source) {
        coreContext = .init(source: source)
    }

    public var maxUploadSize: Int { 64 << 20 }
}
