/// Syntax rules for a resource path inside a bundle, shared by writer and verifier.
///
/// A verifier hands these paths to code that opens files under the model
/// folder, so anything that could escape it or name the folder itself is refused.
enum ResourcePath {
    /// Longest path accepted, in UTF-8 bytes (Linux PATH_MAX).
    static let maxBytes = 4096

    /// Why `path` is not a valid relative resource path, or `nil` when it is.
    static func problem(with path: String) -> String? {
        let bytes = Array(path.utf8)
        if bytes.isEmpty { return "the path is empty" }
        if bytes.count > maxBytes { return "the path is longer than \(maxBytes) bytes" }
        if bytes.contains(0) { return "the path contains a NUL byte" }
        if bytes.first == UInt8(ascii: "/") { return "the path is absolute" }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty { return "the path has an empty component" }
            if component == "." || component == ".." { return "the path has a '\(component)' component" }
        }
        return nil
    }

    /// Whether `path` equals `ignored` or lies below it (model-signing's ignore rule).
    static func isCovered(_ path: String, by ignored: String) -> Bool {
        let trimmed = ignored.hasSuffix("/") ? String(ignored.dropLast()) : ignored
        return path == trimmed || path.hasPrefix(trimmed + "/")
    }
}
