import VesselCore

#if canImport(Glibc)
import Glibc
#endif

extension S3BlobStore: BlobPurging {
    /// Lists every version and delete marker of each blob's key (`ListObjectVersions`; an
    /// unversioned bucket answers the one current object) and deletes them with
    /// `DeleteObjects`, up to 1,000 a request; then drops this replica's cached copy.
    public func purge(_ digests: [Digest]) async throws -> Int {
        var targets: [(key: String, versionID: String)] = []
        for digest in digests {
            let key = blobKey(digest)
            targets += try await client.listObjectVersions(prefix: key).filter { $0.key == key }
        }
        var removed = 0
        for start in stride(from: 0, to: targets.count, by: S3Client.deleteBatchLimit) {
            removed += try await client.deleteObjects(Array(targets[start..<min(start + S3Client.deleteBatchLimit, targets.count)]))
        }
        for digest in digests { unlink(cache.path(of: digest)) }
        return removed
    }
}
