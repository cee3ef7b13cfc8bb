import Foundation
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// A model folder on disk and the files a version of it holds, by the conventions' rules:
/// regular files, recursively; symlinks refused; `.git`, `.gitignore`, `.gitattributes`,
/// `.github` and the pull marker skipped; `/`-separated paths sorted by UTF-8 bytes.
public struct ModelFolder: Sendable {
    public struct File: Sendable, Equatable {
        /// Relative, `/`-separated.
        public let path: String
        public let size: UInt64
    }

    public let root: String
    /// Sorted by path bytes.
    public let files: [File]

    /// Walks `root`.
    /// - Throws: `not_found` when it is missing; `invalid_argument` for a symlink, a special
    ///   file, a path that breaks the manifest rules, or a root that is not a folder.
    public init(root: String) throws(VesselError) {
        var info = stat()
        guard lstat(root, &info) == 0 else { throw .notFound("folder '\(root)' does not exist") }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw .invalidArgument("'\(root)' is not a folder") }
        self.root = root
        var files: [File] = []
        try Self.walk(root: root, relative: "", into: &files)
        files.sort { ManifestPath.precedes($0.path, $1.path) }
        self.files = files
    }

    private static func walk(root: String, relative: String, into files: inout [File]) throws(VesselError) {
        let dirPath = relative.isEmpty ? root : "\(root)/\(relative)"
        guard let dir = opendir(dirPath) else { throw .invalidArgument("cannot read folder '\(dirPath)'") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." || ManifestPath.ignoredNames.contains(name) { continue }
            names.append(name)
        }
        for name in names {
            let rel = relative.isEmpty ? name : "\(relative)/\(name)"
            let full = "\(root)/\(rel)"
            var info = stat()
            guard lstat(full, &info) == 0 else { throw .invalidArgument("cannot read '\(full)'") }
            switch info.st_mode & S_IFMT {
            case S_IFLNK: throw .invalidArgument("'\(rel)' is a symbolic link; versions hold regular files only")
            case S_IFDIR: try walk(root: root, relative: rel, into: &files)
            case S_IFREG:
                try ManifestPath.validate(rel)
                files.append(File(path: rel, size: UInt64(info.st_size)))
            default: throw .invalidArgument("'\(rel)' is not a regular file")
            }
        }
    }

    /// The same folder without the files at `paths` (the signature file when it lies inside).
    public func excluding(_ paths: Set<String>) -> ModelFolder {
        ModelFolder(root: root, files: files.filter { !paths.contains($0.path) })
    }

    private init(root: String, files: [File]) {
        self.root = root
        self.files = files
    }

    public var totalSize: UInt64 { files.reduce(0) { $0 + $1.size } }

    public func absolutePath(_ file: File) -> String { "\(root)/\(file.path)" }
}
