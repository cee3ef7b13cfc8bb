import Foundation
import VesselCore
import VesselSigning

#if canImport(Glibc)
import Glibc
#endif

/// The node-local content-addressed cache.
///
///     CACHE/
///       blobs/sha256/ab/<hex>        a verified blob (mode 0444)
///       blobs/sha256/ab/<hex>.stat   "<inode> <size> <mtime ns>" recorded when it was verified
///       partial/<hex>.partial        a download in progress, resumed with Range
///       partial/<hex>.claim          who is downloading it, when several processes share the
///                                    cache (`BlobClaim`: one downloads, the others wait)
///
/// Pulled folders hard-link these files. If a pulled file is edited in place, the shared
/// inode's mtime changes; the next use of the entry sees the recorded stat no longer matches,
/// re-hashes, and evicts a changed blob — so an edit never passes for cached content.
public struct BlobCache: Sendable {
    public let root: String

    public init(root: String) throws(VesselError) {
        self.root = root
        for dir in ["\(root)/blobs/sha256", "\(root)/partial"] {
            do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw .invalidArgument("cannot create the cache folder \(dir)")
            }
        }
    }

    /// `$XDG_CACHE_HOME/vessel`, else `~/.cache/vessel`.
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return "\(xdg)/vessel" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/vessel"
    }

    public func path(of digest: Digest) -> String { "\(root)/blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex)" }

    func partialPath(of digest: Digest) -> String { "\(root)/partial/\(digest.hex).partial" }

    /// The cached file for `digest` when present and intact. Re-hashes when `verify` is set or
    /// when the file changed since it was verified; a bad entry is removed.
    public func lookup(_ digest: Digest, size: UInt64, verify: Bool) -> String? {
        let path = path(of: digest)
        guard let current = Self.fingerprint(path) else { return nil }
        let recorded = try? String(contentsOfFile: path + ".stat", encoding: .utf8)
        if !verify, recorded == current, current.split(separator: " ").dropFirst().first == Substring(String(size)) {
            return path
        }
        guard let hashed = try? FileHasher.sha256(path: path), hashed.digest == digest, hashed.size == size else {
            unlink(path)
            unlink(path + ".stat")
            return nil
        }
        record(path)
        return path
    }

    /// Moves a verified file into the cache (atomic rename) and records its fingerprint.
    func insert(verifiedFile: String, digest: Digest) throws(VesselError) -> String {
        let path = path(of: digest)
        let dir = (path as NSString).deletingLastPathComponent
        mkdir(dir, 0o755)
        chmod(verifiedFile, 0o444)
        guard rename(verifiedFile, path) == 0 else {
            throw .internalError("cannot move a download into the cache: \(String(cString: strerror(errno)))")
        }
        record(path)
        return path
    }

    private func record(_ path: String) {
        guard let fingerprint = Self.fingerprint(path) else { return }
        let tmp = path + ".stat.tmp"
        if (try? fingerprint.write(toFile: tmp, atomically: false, encoding: .utf8)) != nil {
            rename(tmp, path + ".stat")
        }
    }

    static func fingerprint(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        let mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        return "\(info.st_ino) \(info.st_size) \(mtime)"
    }
}
