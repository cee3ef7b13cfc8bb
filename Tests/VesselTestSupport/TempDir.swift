import Foundation

/// Temporary folders for the process-level tests, all below one folder per test process that
/// is removed when the process exits: the end-to-end tests write 600 MB models, data dirs and
/// caches, and leaving them behind filled the disk of a machine that runs the suite often.
public enum TempDir {
    public static let root: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-cli-tests-\(getpid())").path
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: TempDir.root) }
        return path
    }()

    public static func make(_ prefix: String) -> String {
        let path = (root as NSString).appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes `count` deterministic pseudo-random bytes, streamed in 1 MiB chunks.
    public static func writeFile(_ path: String, count: Int, seed: UInt64) throws {
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw TestFailure("cannot create \(path)")
        }
        defer { try? handle.close() }
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        var remaining = count
        var chunk = [UInt64](repeating: 0, count: (1 << 20) / 8)
        while remaining > 0 {
            for i in chunk.indices {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                chunk[i] = state ^ (state >> 29)
            }
            let n = min(remaining, 1 << 20)
            chunk.withUnsafeBytes { handle.write(Data($0.prefix(n))) }
            remaining -= n
        }
    }
}
