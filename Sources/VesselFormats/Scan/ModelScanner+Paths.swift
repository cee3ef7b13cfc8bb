extension ModelScanner {
    /// Scans files and folders. Folders are walked recursively (sorted by UTF-8 bytes,
    /// skipping `.git`, `.gitignore`, `.gitattributes`, `.github`, `.vessel.json`); symlinks
    /// are not followed and get an `invalid` result of kind `symlink`. Results come in the
    /// order of `paths`, each folder's files in sorted order, with paths joined onto the
    /// given folder path.
    public func scan(paths: [String]) -> [ScanFileResult] {
        var results: [ScanFileResult] = []
        for path in paths {
            if ScanDirectoryWalker.isDirectory(path) {
                for item in ScanDirectoryWalker.items(below: path, maxDepth: limits.maxDirectoryDepth) {
                    results.append(result(for: item))
                }
            } else {
                results.append(scanFile(at: path))
            }
        }
        return results
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
