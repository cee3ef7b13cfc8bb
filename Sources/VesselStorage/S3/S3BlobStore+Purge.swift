import VesselCore

#if canImport(Glibc)
import Glibc
#endif

extension S3BlobStore: BlobPurging {
    /// Lists every version and delete marker of each blob's key (`ListObjectVersions`; an
    /// unversioned bucket answers the one current object) and deletes them with
    /// `DeleteObjects`, up to 1,000 a request; then drops this replica's cached copy.
    public func purge(_ digests: [Digest]) async throws -> Int {
        // One listing per key, up to 32 at a time: one after another, a versioned RGW bucket
        // swept about 20 objects a second.
        var targets: [(key: String, versionID: String)] = []
        let client = client, keys = digests.map { blobKey($0) }
        try await withThrowingTaskGroup(of: [(key: String, versionID: String)].self) { group in
            var next = 0
            while next < min(32, keys.count) {
                let key = keys[next]
                group.addTask { try await client.listObjectVersions(prefix: key).filter { $0.key == key } }
                next += 1
            }
            while let found = try await group.next() {
                targets += found
                if next < keys.count {
                    let key = keys[next]
                    group.addTask { try await client.listObjectVersions(prefix: key).filter { $0.key == key } }
                    next += 1
                }
            }
        }
        var removed = 0
        for start in stride(from: 0, to: targets.count, by: S3Client.deleteBatchLimit) {
            removed += try await client.deleteObjects(Array(targets[start..<min(start + S3Client.deleteBatchLimit, targets.count)]))
        }
        for digest in digests { unlink(cache.path(of: digest)) }
        return removed
    }
}
