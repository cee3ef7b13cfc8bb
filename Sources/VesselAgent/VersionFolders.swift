import Foundation
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// The agent's folder (`DIR`):
///
///     DIR/current             symlink to versions/<hex>, replaced atomically (rename)
///     DIR/versions/<hex>/     a materialized version (files hard-linked from the cache)
///     DIR/state.json          `AgentStateFile`
///
/// A reader of `DIR/current` sees the old folder or the new one, never a mix.
public struct VersionFolders: Sendable {
    public let dir: String

    public init(dir: String) throws(VesselError) {
        self.dir = dir
        do { try FileManager.default.createDirectory(atPath: "\(dir)/versions", withIntermediateDirectories: true) } catch {
            throw .invalidArgument("cannot create the agent's folder \(dir)/versions")
        }
    }

    public var current: String { "\(dir)/current" }
    public var stateFile: String { "\(dir)/state.json" }

    public func folder(of digest: Digest) -> String { "\(dir)/versions/\(digest.hex)" }

    /// The digest hex `current` points at, nil without a link.
    public func currentTarget() -> String? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { return nil }
        return (target as NSString).lastPathComponent
    }

    /// Points `current` at `digest`'s folder (nil: removes it): a new symlink beside it, renamed
    /// over it.
    public func point(at digest: Digest?) throws(VesselError) {
        guard let digest else {
            unlink(current)
            return
        }
        let temp = "\(dir)/.current-\(UUID().uuidString.prefix(8))"
        guard symlink("versions/\(digest.hex)", temp) == 0 else {
            throw .internalError("cannot create a symlink in \(dir): \(String(cString: strerror(errno)))")
        }
        guard rename(temp, current) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw .internalError("cannot replace \(current): \(reason)")
        }
    }

    /// Each regular file's fingerprint under `digest`'s folder, by relative path.
    public func fingerprints(of digest: Digest) -> [String: String] {
        let root = folder(of: digest)
        var files: [String: String] = [:]
        guard let walker = FileManager.default.enumerator(atPath: root) else { return files }
        while let relative = walker.nextObject() as? String {
            if let print = Self.fingerprint("\(root)/\(relative)") { files[relative] = print }
        }
        return files
    }

    /// Whether the folder still holds exactly the files recorded (same inode, size, mtime), and
    /// its pull marker names `digest`. No byte is read but the marker's.
    public func intact(_ loaded: LoadedVersion) -> Bool {
        let root = folder(of: loaded.digest)
        guard !loaded.files.isEmpty,
              let data = FileManager.default.contents(atPath: "\(root)/\(ManifestPath.pullMarker)"),
              let marker = try? JSONDecoder().decode(PullMarker.self, from: data), marker.digest == loaded.digest
        else { return false }
        for (relative, recorded) in loaded.files where Self.fingerprint("\(root)/\(relative)") != recorded { return false }
        return true
    }

    /// Removes every version folder (and staging leftover) but `keep`'s.
    public func removeAll(except keep: Set<Digest>) {
        let keepHex = Set(keep.map(\.hex))
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/versions")) ?? []
        for entry in entries where !keepHex.contains(entry) {
            try? FileManager.default.removeItem(atPath: "\(dir)/versions/\(entry)")
        }
    }

    public func remove(_ digest: Digest) {
        try? FileManager.default.removeItem(atPath: folder(of: digest))
    }

    static func fingerprint(_ path: String) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        let mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        return "\(info.st_ino) \(info.st_size) \(mtime)"
    }
}
