import VesselCore
import VesselStorage

/// Copies blobs by digest into a filesystem store through its verified writer: the bytes are
/// hashed on the way, and only a blob that matches its digest and size becomes visible
/// (temporary file, fsync, rename). Backup and restore both copy this way.
struct BlobCopier: Sendable {
    let source: any BlobStore
    let target: FileSystemBlobStore
    let width: Int

    /// One blob that could not be copied, and why.
    struct Failure: Sendable {
        var digest: Digest
        var problem: String
        var detail: String
    }

    struct Result: Sendable {
        var copied = 0
        var bytes: UInt64 = 0
        var failures: [Failure] = []
    }

    /// Copies each blob the target lacks (absent, or present with another size); a blob the
    /// source does not hold is a `missing` failure, one that hashes wrong a `digest_mismatch`.
    func copy(_ blobs: [(digest: Digest, size: UInt64)], progress: MaintenanceProgress) async throws -> Result {
        var wanted: [(digest: Digest, size: UInt64)] = []
        for blob in blobs where try await target.size(of: blob.digest) != blob.size {
            wanted.append(blob)
        }
        let needed = wanted
        progress.begin("copying", needed.reduce(0) { $0 + $1.size })
        let order = needed.indices.sorted { needed[$0].size > needed[$1].size }
        let outcomes = try await concurrentMap(count: needed.count, width: width, order: order) { index -> Failure? in
            try await copyOne(needed[index].digest, size: needed[index].size, progress: progress)
        }
        var result = Result()
        for (blob, failure) in zip(needed, outcomes) {
            if let failure { result.failures.append(failure) } else {
                result.copied += 1
                result.bytes += blob.size
            }
        }
        return result
    }

    private func copyOne(_ digest: Digest, size: UInt64, progress: MaintenanceProgress) async throws -> Failure? {
        let chunks: BlobChunks
        do { chunks = try await source.read(digest, range: nil) } catch let error as VesselError where error.code == .notFound {
            return Failure(digest: digest, problem: "missing", detail: "the blob is not in the store")
        }
        guard chunks.length == size else {
            return Failure(digest: digest, problem: "size_mismatch", detail: "the stored blob has \(chunks.length) bytes, the metadata says \(size)")
        }
        let writer = try await target.makeWriter(expecting: digest, size: size)
        do {
            for try await chunk in chunks {
                try await writer.write(chunk)
                progress.add(UInt64(chunk.readableBytes))
            }
            try await writer.commit()
            return nil
        } catch let error as VesselError where error.code == .digestMismatch || error.code == .sizeMismatch {
            await writer.abort()
            return Failure(digest: digest, problem: error.code == .digestMismatch ? "digest_mismatch" : "size_mismatch", detail: error.message)
        } catch {
            await writer.abort()
            throw error
        }
    }
}
