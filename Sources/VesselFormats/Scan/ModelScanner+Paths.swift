import Foundation
import VesselCore

extension ModelScanner {
    /// Threads `scan(paths:)` uses by default: one per processor this process may use.
    public static var defaultJobs: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Scans files and folders. Folders are walked recursively (sorted by UTF-8 bytes,
    /// skipping `ManifestPath.ignoredNames`: `.git`, `.gitignore`, `.gitattributes`, `.github`,
    /// `.vessel.json`); symlinks are not followed and get an `invalid` result of kind
    /// `symlink`. Results come in the order of `paths`, each folder's files in sorted order,
    /// with paths joined onto the given folder path. Files are scanned on `min(jobs, files)` threads at once
    /// (`parallelMap`, which owns its threads).
    public func scan(paths: [String], jobs: Int = ModelScanner.defaultJobs) -> [ScanFileResult] {
        var items: [ScanDirectoryWalker.Item] = []
        for path in paths {
            if ScanDirectoryWalker.isDirectory(path) {
                items += ScanDirectoryWalker.items(below: path, maxDepth: limits.maxDirectoryDepth)
            } else {
                items.append(.file(path))
            }
        }
        let walked = items
        return parallelMap(count: walked.count, threads: jobs) { result(for: walked[$0]) }
    }

    /// Scans each file on `min(jobs, paths)` threads at once; results come in the order of `paths`.
    /// Picklescan and its peers scan one file at a time (Python's GIL holds them to one core);
    /// a pushed checkpoint of many shards is judged about `jobs` times sooner.
    public func scanFiles(_ paths: [String], jobs: Int = ModelScanner.defaultJobs) -> [ScanFileResult] {
        parallelMap(count: paths.count, threads: jobs) { scanFile(at: paths[$0]) }
    }

    private func result(for item: ScanDirectoryWalker.Item) -> ScanFileResult {
        switch item {
        case .file(let path):
            return scanFile(at: path)
        case .symlink(let path):
            return ScanFileResult(path: path, format: .data, findings: [
                ScanFinding(severity: .medium, kind: .symlink, detail: "symbolic links are not followed"),
            ])
        case .special(let path):
            return ScanFileResult(path: path, format: .data, findings: [
                ScanFinding(severity: .medium, kind: .unreadable, detail: "not a regular file"),
            ])
        case .unreadable(let path):
            return ScanFileResult(path: path, format: .data, findings: [
                ScanFinding(severity: .medium, kind: .unreadable, detail: "folder cannot be listed or is nested too deeply"),
            ])
        }
    }
}
