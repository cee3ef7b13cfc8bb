import Foundation
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// Builds a pulled folder next to its destination and swaps it in.
enum Materializer {
    /// The destination must be absent, an empty folder, or an earlier Vessel pull.
    static func checkDestination(_ path: String) throws(VesselError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw .alreadyExists("'\(path)' exists and is not a folder")
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        if entries.isEmpty { return }
        guard let data = FileManager.default.contents(atPath: "\(path)/\(ManifestPath.pullMarker)"),
              (try? JSONDecoder().decode(PullMarker.self, from: data)) != nil
        else {
            throw .alreadyExists("'\(path)' is not empty and is not an earlier `vessel pull`; choose an empty or new folder")
        }
    }

    static func materialize(manifest: Manifest, from blobs: [Digest: String], marker: PullMarker, into destination: String) throws(VesselError) {
        let parent = (destination as NSString).deletingLastPathComponent
        let base = (destination as NSString).lastPathComponent
        let staging = "\(parent.isEmpty ? "." : parent)/.\(base).vessel-staging-\(UUID().uuidString.prefix(8))"
        do {
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        } catch {
            throw .invalidArgument("cannot create a folder next to '\(destination)'")
        }
        do {
            for entry in manifest.entries {
                guard let source = blobs[entry.digest] else { throw VesselError.internalError("blob \(entry.digest) was not fetched") }
                let target = "\(staging)/\(entry.path)"
                let dir = (target as NSString).deletingLastPathComponent
                try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                if link(source, target) != 0 {
                    // Another file system: copy instead of sharing the inode.
                    do { try FileManager.default.copyItem(atPath: source, toPath: target) } catch {
                        throw VesselError.internalError("cannot write '\(entry.path)' into the pulled folder")
                    }
                }
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            guard let data = try? encoder.encode(marker), FileManager.default.createFile(atPath: "\(staging)/\(ManifestPath.pullMarker)", contents: data) else {
                throw VesselError.internalError("cannot write the pull marker")
            }
            try swapIn(staging: staging, destination: destination)
        } catch let error as VesselError {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw .internalError("materializing failed: \(error)")
        }
    }

    /// Exchanges the staging folder with the destination atomically when it exists
    /// (`renameat2(RENAME_EXCHANGE)`), then removes the old content.
    private static func swapIn(staging: String, destination: String) throws(VesselError) {
        var info = stat()
        if lstat(destination, &info) != 0 {
            guard rename(staging, destination) == 0 else {
                throw .internalError("cannot move the pulled folder into place: \(String(cString: strerror(errno)))")
            }
            return
        }
        let exchanged = exchange(staging, destination)
        if !exchanged {
            let old = staging + "-old"
            guard rename(destination, old) == 0, rename(staging, destination) == 0 else {
                throw .internalError("cannot replace '\(destination)': \(String(cString: strerror(errno)))")
            }
            try? FileManager.default.removeItem(atPath: old)
            return
        }
        try? FileManager.default.removeItem(atPath: staging)
    }
}

/// `renameat2(…, RENAME_EXCHANGE)`, looked up at run time: Swift's Glibc module does not
/// export it. Returns false when unavailable, and the caller falls back to two renames.
private func exchange(_ a: String, _ b: String) -> Bool {
    typealias Renameat2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    guard let symbol = dlsym(nil, "renameat2") else { return false }
    let function = unsafeBitCast(symbol, to: Renameat2.self)
    return function(AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */) == 0
}
