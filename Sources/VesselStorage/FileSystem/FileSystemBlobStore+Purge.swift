import VesselCore

#if canImport(Glibc)
import Glibc
#endif

extension FileSystemBlobStore: BlobPurging {
    /// Unlinks each blob's file, then its `sha256/ab/` folder if that is left empty (a writer
    /// renaming into a folder removed under it makes the folder again: `FileSystemBlobWriter`).
    public func purge(_ digests: [Digest]) async throws -> Int {
        let paths = digests.map { path(of: $0) }
        return try await threadPool.runIfActive {
            var removed = 0
            for path in paths {
                if unlink(path) == 0 {
                    removed += 1
                } else if errno != ENOENT {
                    throw FileIOError.map(errno, doing: "delete a blob")
                }
                let folder = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
                _ = rmdir(folder)  // ENOTEMPTY while other blobs share it: kept.
            }
            return removed
        }
    }
}
