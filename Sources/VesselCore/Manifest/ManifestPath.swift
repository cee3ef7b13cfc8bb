/// The rules for a file path inside a version (the conventions' "which files a version holds").
public enum ManifestPath {
    /// The paths OpenSSF model-signing always ignores, in the order it writes them into a
    /// bundle's `ignore_paths` (`BundleFormat.defaultIgnorePaths` is this list, for interop).
    public static let modelSigningIgnoredNames = [".git", ".gitignore", ".gitattributes", ".github"]
    /// Names a version never holds and every folder walk skips (the pusher's `ModelFolder`, the
    /// scanner's walker): model-signing's ignored names plus Vessel's pull marker.
    public static let ignoredNames = Set(modelSigningIgnoredNames).union([pullMarker])
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

    /// Orders paths the way model-signing does: component by component, each compared by its
    /// UTF-8 bytes — equivalently, bytewise with `/` ranked below every other byte — so
    /// `a/c` sorts before `a-b`. Plain bytewise order would put `a-b` first and give a root
    /// digest that no model-signing signature matches (docs/decisions/0001-path-order.md).
    public static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        var left = lhs.utf8.makeIterator()
        var right = rhs.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return false
            case (nil, _): return true
            case (_, nil): return false
            case (let a?, let b?):
                if a == b { continue }
                let rankA: UInt16 = a == 0x2F ? 0 : UInt16(a) + 1
                let rankB: UInt16 = b == 0x2F ? 0 : UInt16(b) + 1
                return rankA < rankB
            }
        }
    }

    /// Whether `path` lies inside the folder `folder` (`a/b` and `a/b/c` are inside `a`; `a-b`
    /// and `ab` are not), comparing UTF-8 bytes.
    public static func isInside(_ path: String, folder: String) -> Bool {
        let inner = path.utf8, outer = folder.utf8
        guard inner.count > outer.count, inner.starts(with: outer) else { return false }
        return inner[inner.index(inner.startIndex, offsetBy: outer.count)] == UInt8(ascii: "/")
    }

    static func printable(_ path: String) -> String {
        String(path.unicodeScalars.map { $0.value < 0x20 ? "?" : Character($0) }.prefix(200))
    }
}
