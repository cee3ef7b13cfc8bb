import Hummingbird
import NIOCore
import Prometheus
import Synchronization
import VesselCore

extension ServerMetrics {
    static let blobBytesServed = "vessel_blob_bytes_served_total"
    static let modelBlobBytesServed = "vessel_model_blob_bytes_served_total"
    static let blobRedirects = "vessel_blob_redirects_total"
    /// How many distinct models get a series of their own in `modelBlobBytesServed`; the bytes
    /// of any further model are counted under `model="_other"`, so a registry with very many
    /// models cannot grow a scrape without bound (docs/metrics.md).
    static let modelSeriesLimit = 1000
    static let otherModels = "_other"

    static let blobFamilies: [(name: String, type: String, help: String)] = [
        (blobBytesServed, "counter", "Blob bytes this server wrote to clients (GET …/blobs/:digest, Range answers included; not HEAD, 304 or 307 redirects to storage)."),
        (modelBlobBytesServed, "counter", "Blob bytes this server wrote to clients, by model (owner/name); past \(modelSeriesLimit) models the rest are counted as model=\"_other\"."),
        (blobRedirects, "counter", "Blob downloads answered with a 307 to a presigned storage URL (their bytes leave the bucket, not this server), by model."),
    ]

    /// `count` more blob bytes written to a client for `model`.
    func blobBytesServed(_ count: Int, model: String) {
        guard count > 0 else { return }
        served.increment(by: Int64(count))
        registry.makeCounter(descriptor: Self.blobDescriptor(Self.modelBlobBytesServed), labels: [("model", servedModels.label(for: model))])
            .increment(by: Int64(count))
    }

    /// A download handed to object storage with a redirect.
    func blobRedirected(model: String) {
        registry.makeCounter(descriptor: Self.blobDescriptor(Self.blobRedirects), labels: [("model", servedModels.label(for: model))]).increment()
    }

    /// A response body that writes `chunks` and counts each one once the writer took it
    /// (`ResponseBodyWriter.write` returns when the bytes were handed to the connection, with
    /// its back pressure), so a client that goes away mid-blob counts only what it was sent.
    /// With `--egress-limit` each chunk first waits for its bytes in the shared bucket.
    func countingBody<S: AsyncSequence & Sendable>(_ chunks: S, model: String) -> ResponseBody where S.Element == ByteBuffer {
        ResponseBody { writer in
            for try await chunk in chunks {
                let count = chunk.readableBytes
                try await egress?.acquire(count)
                try await writer.write(chunk)
                blobBytesServed(count, model: model)
            }
            try await writer.finish(nil)
        }
    }

    static func blobDescriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: blobFamilies.first { $0.name == name }?.help ?? "")
    }
}

/// The models that have a series of their own in the per-model blob counters (at most
/// `ServerMetrics.modelSeriesLimit`; first come, first named).
final class ModelSeriesLabels: Sendable {
    private let named = Mutex<Set<String>>([])
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func label(for model: String) -> String {
        named.withLock { names in
            if names.contains(model) { return model }
            guard names.count < limit else { return ServerMetrics.otherModels }
            names.insert(model)
            return model
        }
    }
}
