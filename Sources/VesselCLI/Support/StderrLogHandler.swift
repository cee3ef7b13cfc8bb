import Foundation
import Logging
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// `vessel serve`'s log lines on standard error, in swift-log's `StreamLogHandler` layout
/// (`<time> <level> <label>: <metadata> [<source>] <message>`), with one difference: metadata is
/// rendered when a line is written, not whenever it is set. Hummingbird sets a request id on
/// the logger of every request, and `StreamLogHandler` re-renders all of its metadata on each
/// set; that was 5% of the server's time answering a cached `resolve`, for lines that the
/// default level never writes. Messages and metadata can quote what clients sent (a model
/// name, a path, a header): their control characters are escaped (`TerminalText`), so a
/// request cannot forge a log line or drive the terminal of whoever reads the log.
struct StderrLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let explicit = event.metadata { all.merge(explicit) { _, new in new } }
        let rendered = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let text = "\(Self.timestamp()) \(event.level) \(label):\(TerminalText.escaped(rendered)) [\(event.source)] \(TerminalText.escaped(event.message.description))\n"
        // One write per line, so lines from several threads do not interleave.
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }

    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
