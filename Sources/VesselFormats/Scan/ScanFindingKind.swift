/// What a finding is about. Each kind belongs to one verdict class: `unsafe` kinds make a file
/// unsafe, `invalid` kinds make it invalid. Stable JSON strings; see `docs/scanning.md`.
public enum ScanFindingKind: String, Codable, Sendable, CaseIterable {
    // MARK: unsafe class
    /// A pickle import of a known code-execution primitive or one of its aliases.
    case dangerousImport = "dangerous-import"
    /// A pickle import that is not on the allowlist.
    case unknownImport = "unknown-import"
    /// `STACK_GLOBAL` whose module or name is not a literal string (computed or opaque).
    case nonLiteralGlobal = "non-literal-global"
    /// A call (`REDUCE`, `OBJ`, `NEWOBJ`…) whose callable is not an import but a computed value.
    case indirectCall = "indirect-call"
    /// `EXT1`/`EXT2`/`EXT4`: an import through the copyreg extension registry.
    case extensionImport = "extension-import"
    /// A Keras layer or object that carries Python code (`Lambda`, `TFOpLambda`, `__lambda__`).
    case codeLayer = "code-layer"
    /// A Keras object whose `module` lies outside Keras itself.
    case unknownModule = "unknown-module"
    /// A Keras object registered under a custom `Package>Name`.
    case customObject = "custom-object"
    /// A TorchScript code member inside a PyTorch zip (not analysed).
    case codeMember = "code-member"
    /// A zip member name that is absolute or contains `..`, a backslash, a drive letter or NUL.
    case pathTraversal = "path-traversal"
    /// A member that inflates beyond the ratio or absolute limit, or overlapping members.
    case decompressionBomb = "decompression-bomb"

    // MARK: invalid class
    /// The bytes do not follow the format (bad opcode, stack underflow, bad memo, bad header…).
    case malformed
    /// The stream or archive ends before the format says it should.
    case truncated
    /// A length, count or nesting depth beyond the scanner's named limits.
    case limitExceeded = "limit-exceeded"
    /// A compression the scanner does not read (lzma, xz, bz2, lz4, legacy joblib `ZF`).
    case unsupportedCompression = "unsupported-compression"
    /// A well-formed variant the scanner does not read (encrypted members, HDF5 `.keras`…).
    case unsupported
    /// A file named like a scanned format whose content matches none.
    case unrecognized
    /// An empty file named like a scanned format.
    case empty
    /// A symbolic link inside a scanned folder (not followed).
    case symlink
    /// The file could not be opened or read.
    case unreadable

    /// Whether this kind makes a file `unsafe` (as opposed to `invalid`).
    public var isUnsafe: Bool {
        switch self {
        case .dangerousImport, .unknownImport, .nonLiteralGlobal, .indirectCall, .extensionImport,
             .codeLayer, .unknownModule, .customObject, .codeMember, .pathTraversal,
             .decompressionBomb:
            return true
        case .malformed, .truncated, .limitExceeded, .unsupportedCompression, .unsupported,
             .unrecognized, .empty, .symlink, .unreadable:
            return false
        }
    }
}
