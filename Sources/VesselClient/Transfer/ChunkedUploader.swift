import Foundation
import VesselCore

/// Uploads one large file through a resumable upload session: asks the server which chunks it
/// already stores durably (a session survives dropped connections, client restarts and server
/// restarts), sends the others in parallel, retrying cut ones, then has the server verify and
/// commit the blob.
public struct ChunkedUploader: Sendable {
    let api: APIClient
    let progress: TransferProgress?
    /// Chunks in flight at once for this file.
    public var parallelism = 4
    /// Attempts per chunk when the connection fails or the server is briefly unavailable.
    public var attempts = 5

    public init(api: APIClient, progress: TransferProgress? = nil) {
        self.api = api
        self.progress = progress
    }

    /// Uploads `path` as blob `digest` of `size` bytes; returns the bytes actually sent (0 when
    /// the server had the blob or every chunk already).
    public func upload(model: ModelName, digest: Digest, size: UInt64, path: String) async throws -> UInt64 {
        var sent: UInt64 = 0
        var restarted = false
        while true {
            let session: UploadSessionInfo
            do {
                session = try await retrying { try await api.startUpload(model, digest: digest, size: size) }
            } catch let error as VesselError where error.code == .alreadyExists {
                progress?.add(size)
                return sent
            }
            let plan = ChunkPlan(size: session.size, chunkSize: session.chunkSize)
            for index in session.received { progress?.add(UInt64((try? plan.range(of: index).count) ?? 0)) }
            do {
                sent += try await send(session.missing, plan: plan, id: session.uploadId, model: model, path: path)
                do {
                    _ = try await retrying { try await api.completeUpload(model, id: session.uploadId) }
                } catch let error as VesselError where error.code == .conflict && !error.details.isEmpty {
                    // The server misses chunks it reported before: send them and complete again.
                    let missing = error.details.compactMap { Int($0) }
                    sent += try await send(missing, plan: plan, id: session.uploadId, model: model, path: path)
                    _ = try await retrying { try await api.completeUpload(model, id: session.uploadId) }
                }
                return sent
            } catch let error as VesselError where error.code == .notFound && !restarted {
                // The session expired or was aborted meanwhile: start over, once.
                restarted = true
            }
        }
    }

    private func send(_ indices: [Int], plan: ChunkPlan, id: String, model: ModelName, path: String) async throws -> UInt64 {
        let api = api, progress = progress
        return try await withThrowingTaskGroup(of: UInt64.self) { group in
            var queue = indices[...]
            var total: UInt64 = 0
            func start(_ index: Int) throws {
                let range = try plan.range(of: index)
                group.addTask {
                    _ = try await retrying {
                        try await api.putChunk(model, id: id, index: index, path: path, offset: range.lowerBound, length: UInt64(range.count))
                    }
                    progress?.add(UInt64(range.count))
                    return UInt64(range.count)
                }
            }
            for _ in 0..<min(max(parallelism, 1), queue.count) { try start(queue.removeFirst()) }
            while let bytes = try await group.next() {
                total += bytes
                if let index = queue.popFirst() { try start(index) }
            }
            return total
        }
    }

    /// Runs `body`, retrying `unavailable` (a cut connection, a restarting server) with backoff,
    /// and waiting out an outage as the client's retry budget allows.
    private func retrying<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await RetryPolicy.upload(attempts: attempts).waitingOutages(like: api.retry).run(body)
    }
}
