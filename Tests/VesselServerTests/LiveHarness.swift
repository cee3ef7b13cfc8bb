import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import VesselCore
@testable import VesselClient
@testable import VesselServer
@testable import VesselStorage

/// A registry served on a loopback port in-process, with the real client talking to it.
struct LiveHarness {
    let registry: Registry
    let dir: String
    let api: APIClient

    static func with(chunkSize: UInt64 = 1 << 20, blobs wrap: (@Sendable (any BlobStore) -> any BlobStore)? = nil,
                     configure: (@Sendable (inout ServerOptions) -> Void)? = nil, _ body: @Sendable (LiveHarness) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-live-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = ServerOptions(dataDir: dir, adminToken: APIHarness.adminToken)
        options.uploadChunkSize = chunkSize
        configure?(&options)
        let opened = try await Registry.openEmbedded(options, logger: Logger(label: "test"))
        let registry = Registry(
            store: opened.store, blobs: wrap?(opened.blobs) ?? opened.blobs, backend: opened.backend, pipeline: opened.pipeline,
            authorizer: opened.authorizer, clock: opened.clock, uploads: opened.uploads, metrics: opened.metrics, options: opened.options,
            blobRedirect: opened.blobRedirect, storageShutdown: opened.storageShutdown
        )
        let app = Application(router: registry.makeRouter().0, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        do {
            try await app.test(.live) { client in
                guard let port = client.port else { throw VesselError.internalError("the live test server has no port") }
                let api = APIClient(config: ClientConfig(server: "http://127.0.0.1:\(port)", token: APIHarness.adminToken))
                do {
                    try await body(LiveHarness(registry: registry, dir: dir, api: api))
                } catch {
                    await api.shutdown()
                    throw error
                }
                await api.shutdown()
            }
        } catch {
            await registry.shutdown()
            throw error
        }
        await registry.shutdown()
    }

    /// A folder under the harness's directory holding `files`.
    func folder(_ name: String, _ files: [String: [UInt8]]) throws -> String {
        let path = "\(dir)/\(name)"
        for (file, bytes) in files {
            let full = "\(path)/\(file)"
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: full, contents: Data(bytes)) else { throw VesselError.internalError("cannot write \(full)") }
        }
        return path
    }
}

/// A blob store whose first `cuts.count` reads stop after the given number of bytes, as a
/// dropped connection would.
/// A test blob store that changes only how blobs are read (counting, cutting, slowing or
/// altering them); the rest goes to `base`.
protocol ReadWrappingBlobStore: BlobStore {
    var base: any BlobStore { get }
}

extension ReadWrappingBlobStore {
    func size(of digest: VesselCore.Digest) async throws -> UInt64? { try await base.size(of: digest) }
    func makeWriter(expecting digest: VesselCore.Digest, size: UInt64) async throws -> any BlobWriter { try await base.makeWriter(expecting: digest, size: size) }
    func delete(_ digest: VesselCore.Digest) async throws { try await base.delete(digest) }
    func withLocalFile<T: Sendable>(_ digest: VesselCore.Digest, _ body: @escaping @Sendable (String) throws -> T) async throws -> T {
        try await base.withLocalFile(digest, body)
    }
}

final class CuttingBlobStore: ReadWrappingBlobStore {
    let base: any BlobStore
    let cuts: Mutex<[UInt64]>
    let reads = Atomic<Int>(0)

    init(_ base: any BlobStore, cutAfter cuts: [UInt64]) {
        self.base = base
        self.cuts = Mutex(cuts)
    }

    func read(_ digest: VesselCore.Digest, range: Range<UInt64>?) async throws -> BlobChunks {
        reads.add(1, ordering: .relaxed)
        let inner = try await base.read(digest, range: range)
        guard let limit = cuts.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { return inner }
        let reader = CutReader(inner, limit: limit)
        return BlobChunks(length: inner.length) { try await reader.next() }
    }

    final class CutReader: Sendable {
        let inner: BlobChunks
        let limit: UInt64
        let sent = Atomic<UInt64>(0)

        init(_ inner: BlobChunks, limit: UInt64) {
            self.inner = inner
            self.limit = limit
        }

        func next() async throws -> ByteBuffer? {
            let done = sent.load(ordering: .relaxed)
            guard done < limit else { throw CutError() }
            let iterator = inner.makeAsyncIterator()
            guard var buffer = try await iterator.next() else { return nil }
            if UInt64(buffer.readableBytes) > limit - done {
                buffer = buffer.getSlice(at: buffer.readerIndex, length: Int(limit - done)) ?? buffer
            }
            sent.add(UInt64(buffer.readableBytes), ordering: .relaxed)
            return buffer
        }
    }

    struct CutError: Error {}
}
