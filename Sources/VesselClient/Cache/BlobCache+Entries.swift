import Foundation
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

extension BlobCache {
    /// The verified file for `digest` and its size, without knowing the size beforehand: only
    /// an entry whose file still matches the fingerprint recorded when it was verified (what a
    /// peer serves; never a partial file, never an entry edited in place).
    public func verifiedEntry(_ digest: Digest) -> (path: String, size: UInt64)? {
        let path = path(of: digest)
        guard let current = Self.fingerprint(path),
              let recorded = try? String(contentsOfFile: path + ".stat", encoding: .utf8), recorded == current,
              let size = current.split(separator: " ").dropFirst().first.flatMap({ UInt64($0) })
        else { return nil }
        return (path, size)
    }

    /// Every verified entry's digest (see `verifiedEntry`), sorted: what a peer announces.
    public func verifiedDigests() -> [Digest] {
        let base = "\(root)/blobs/sha256"
        var digests: [Digest] = []
        for prefix in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where prefix.count == 2 {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(base)/\(prefix)")) ?? [] where name.count == 64 {
                guard let digest = try? Digest("sha256:\(name)"), verifiedEntry(digest) != nil else { continue }
                digests.append(digest)
            }
        }
        return digests.sorted { $0.description < $1.description }
    }
}
