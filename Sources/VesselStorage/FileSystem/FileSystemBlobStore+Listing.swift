import Foundation
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

extension FileSystemBlobStore: BlobListing {
    /// Walks `ROOT/sha256/xx/`; names that are not a digest (left there by hand) are skipped.
    public func listBlobs() async throws -> [StoredBlob] {
        let root = "\(self.root)/sha256"
        return try await threadPool.runIfActive {
            var blobs: [StoredBlob] = []
            let manager = FileManager.default
            for prefix in try manager.contentsOfDirectory(atPath: root).sorted() {
                guard let names = try? manager.contentsOfDirectory(atPath: "\(root)/\(prefix)") else { continue }
                for name in names.sorted() {
                    guard let digest = try? Digest(hex: name), name.hasPrefix(prefix) else { continue }
                    var info = stat()
                    guard stat("\(root)/\(prefix)/\(name)", &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
                    blobs.append(StoredBlob(digest: digest, size: UInt64(info.st_size)))
                }
            }
            return blobs
        }
    }

    /// Where a blob's file is (for tools working on a data directory: fsck, backup, restore).
    public func filePath(of digest: Digest) -> String { path(of: digest) }
}
