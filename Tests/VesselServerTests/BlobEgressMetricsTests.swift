import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import VesselCore
@testable import VesselServer

/// Origin egress on `/metrics` (issue 30): the blob bytes a server wrote to clients, in total and
/// by model, Range answers counted by what they carried, HEAD, 304 and refused ranges not at all.
@Suite struct BlobEgressMetricsTests {
    @Test func blobBytesServedCountWhatWasWritten() async throws {
        let blob: [UInt8] = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        try await APIHarness.with { harness, client in
            let metrics = harness.registry.metrics
            _ = try await APIHarness.push(client, model: "acme/m", files: ["w.bin": blob])
            _ = try await APIHarness.push(client, model: "acme/other", files: ["x.bin": [1, 2, 3, 4, 5]])
            #expect(metrics.registry.value(ServerMetrics.blobBytesServed) == 0)
            let uri = "/api/v1/models/acme/m/blobs/\(APIHarness.digest(blob))"
            try await client.execute(uri: uri, method: .get, headers: APIHarness.auth) { response in
                #expect(response.status == .ok && response.body.readableBytes == blob.count)
            }
            try await client.execute(uri: uri, method: .get, headers: APIHarness.auth + [.range: "bytes=1000-1999"]) { response in
                #expect(response.status == .partialContent && response.body.readableBytes == 1000)
            }
            // Neither a HEAD, a 304 nor a refused range sends blob bytes.
            try await client.execute(uri: uri, method: .head, headers: APIHarness.auth) { #expect($0.status == .ok) }
            try await client.execute(uri: uri, method: .get, headers: APIHarness.auth + [.ifNoneMatch: "\"\(APIHarness.digest(blob))\""]) { #expect($0.status == .notModified) }
            try await client.execute(uri: uri, method: .get, headers: APIHarness.auth + [.range: "bytes=400000-"]) { #expect($0.status == .rangeNotSatisfiable) }
            try await client.execute(uri: "/api/v1/models/acme/other/blobs/\(APIHarness.digest([1, 2, 3, 4, 5]))", method: .get, headers: APIHarness.auth) {
                #expect($0.status == .ok)
            }
            #expect(metrics.registry.value(ServerMetrics.blobBytesServed) == Double(300_000 + 1000 + 5))
            #expect(metrics.registry.value(ServerMetrics.modelBlobBytesServed, [("model", "acme/m")]) == 301_000)
            #expect(metrics.registry.value(ServerMetrics.modelBlobBytesServed, [("model", "acme/other")]) == 5)
            // The scrape itself shows them under their documented names.
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("# TYPE vessel_blob_bytes_served_total counter"), "\(text)")
                #expect(text.contains("vessel_blob_bytes_served_total 301005"), "\(text)")
                #expect(text.contains(#"vessel_model_blob_bytes_served_total{model="acme/m"} 301000"#), "\(text)")
            }
        }
    }

    /// Past the limit, models share one series, so a registry of many models keeps a bounded scrape.
    @Test func perModelSeriesAreBounded() {
        let labels = ModelSeriesLabels(limit: 2)
        #expect(labels.label(for: "a/one") == "a/one")
        #expect(labels.label(for: "a/two") == "a/two")
        #expect(labels.label(for: "a/three") == ServerMetrics.otherModels)
        #expect(labels.label(for: "a/one") == "a/one")
        let metrics = ServerMetrics()
        metrics.blobRedirected(model: "acme/m")
        metrics.blobBytesServed(0, model: "acme/m")
        #expect(metrics.registry.value(ServerMetrics.blobRedirects, [("model", "acme/m")]) == 1)
        #expect(metrics.registry.value(ServerMetrics.blobBytesServed) == 0)
    }
}
