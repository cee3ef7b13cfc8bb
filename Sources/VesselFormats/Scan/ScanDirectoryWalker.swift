#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

import VesselCore

/// Lists the files below a folder the way Vessel versions hold them: recursively, sorted by
/// UTF-8 bytes, skipping `ManifestPath.ignoredNames` (`.git`, `.gitignore`, `.gitattributes`,
/// `.github` and `.vessel.json`), and reporting symlinks instead of following them.
enum ScanDirectoryWalker {
    enum Item: Equatable {
        case file(String)
        case symlink(String)
        case special(String)
        case unreadable(String)
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Every item below `root`, as paths joined onto `root`.
    static func items(below root: String, maxDepth: Int) -> [Item] {
        var items: [Item] = []
        walk(root, depth: 0, maxDepth: maxDepth, into: &items)
        return items
    }

    private static func walk(_ folder: String, depth: Int, maxDepth: Int, into items: inout [Item]) {
        guard depth < maxDepth else {
            items.append(.unreadable(folder))
            return
        }
        guard let names = entries(of: folder) else {
            items.append(.unreadable(folder))
            return
        }
        for name in names.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) where !ManifestPath.ignoredNames.contains(name) {
            let path = folder.hasSuffix("/") ? folder + name : folder + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else {
                items.append(.unreadable(path))
                continue
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: walk(path, depth: depth + 1, maxDepth: maxDepth, into: &items)
            case S_IFREG: items.append(.file(path))
            case S_IFLNK: items.append(.symlink(path))
            default: items.append(.special(path))
            }
        }
    }

    private static func entries(of folder: String) -> [String]? {
        guard let directory = opendir(folder) else { return nil }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String in
                let bytes = raw.prefix { $0 != 0 }
                return String(decoding: bytes, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
