import VesselCore
/// One regular file of a model as model-signing records it: its path relative
/// to the model folder (with `/` separators) and the SHA-256 of its bytes.
public struct SignedResource: Sendable, Equatable, Hashable {
    /// Relative path, `/`-separated, no `.`/`..`/empty components, not Unicode-normalised.
    public let path: String
    /// SHA-256 of the file content: 32 bytes.
    public let sha256: [UInt8]

    /// Creates a resource. Values are checked where they are used
    /// (``BundleWriter/makeBundle(subjectName:resources:additionalIgnorePaths:)``),
    /// not here, so this initialiser cannot fail.
    public init(path: String, sha256: [UInt8]) {
        self.path = path
        self.sha256 = sha256
    }
}

extension SignedResource {
    /// model-signing's resource order: paths compared component by component
    /// (each component by its UTF-8 bytes), which equals comparing the UTF-8
    /// bytes of the whole path with `/` ranked below every other byte.
    ///
    /// This is how model-signing 1.1.1 sorts (it sorts `PurePosixPath`s), and it
    /// differs from plain UTF-8 byte order when a name continues with a byte
    /// below `/` (0x2F), e.g. model-signing puts `a/c` before `a-b` and
    /// `tok/v.txt` before `tok.json`.
    public static func precedesInModelSigningOrder(_ lhs: String, _ rhs: String) -> Bool {
        ManifestPath.precedes(lhs, rhs)
    }

    /// `resources` sorted into model-signing order (see ``precedesInModelSigningOrder(_:_:)``).
    public static func sortedInModelSigningOrder(_ resources: [SignedResource]) -> [SignedResource] {
        resources.sorted { precedesInModelSigningOrder($0.path, $1.path) }
    }
}
