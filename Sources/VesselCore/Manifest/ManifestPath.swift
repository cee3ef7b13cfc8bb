/// The rules for a file path inside a version (the conventions' "which files a version holds").
public enum ManifestPath {
    /// Names skipped when walking a folder (the model-signing `ignore_paths` plus Vessel's pull marker).
    public static let ignoredNames: Set<String> = [".git", ".gitignore", ".gitattributes", ".github", pullMarker]
    /// The marker `vessel pull` writes into a materialized folder.
    public static let pullMarker = ".vessel.json"
    /// Longest accepted path, in UTF-8 bytes.
    public static let maxLength = 4096

    /// Checks a relative path as a client may declare it: `/`-separated, not absolute, no empty,
    /// `.` or `..` component, no NUL or backslash, no ignored name.
    public static func validate(_ path: String) throws(VesselError) {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= maxLength else {
            throw .invalidArgument("file path must be 1 to \(maxLength) bytes long")
        }
        guard !bytes.contains(0) else { throw .invalidArgument("file path '\(printable(path))' contains a NUL byte") }
        guard !bytes.contains(0x5C) else { throw .invalidArgument("file path '\(printable(path))' contains a backslash") }
        guard bytes.first != 0x2F else { throw .invalidArgument("file path '\(printable(path))' is absolute") }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            switch component {
            case "": throw .invalidArgument("file path '\(printable(path))' has an empty component")
            case ".", "..": throw .invalidArgument("file path '\(printable(path))' contains '\(component)'")
            default:
                if ignoredNames.contains(String(component)) {
                    throw .invalidArgument("file path '\(printable(path))' names '\(component)', which versions never hold")
                }
            }
        }
    }

    /// Orders paths by their UTF-8 bytes, as the conventions and model-signing do.
    public static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    static func printable(_ path: String) -> String {
        String(path.unicodeScalars.map { $0.value < 0x20 ? "?" : Character($0) }.prefix(200))
    }
}
