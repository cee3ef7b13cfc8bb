import VesselCore

/// Why a bundle could not be written.
public enum BundleWriterError: SigningLibraryError, Equatable {
    /// A resource path is not a valid relative path, or its digest is not 32 bytes. (exit 2)
    case invalidResource(path: String, reason: String)
    /// Two resources have the same path. (exit 2)
    case duplicateResource(path: String)
    /// An additional ignore path is not a valid relative path. (exit 2)
    case invalidIgnorePath(path: String, reason: String)

    public var code: String {
        switch self {
        case .invalidResource: "invalid_resource"
        case .duplicateResource: "duplicate_resource"
        case .invalidIgnorePath: "invalid_ignore_path"
        }
    }

    public var message: String {
        switch self {
        case .invalidResource(let path, let reason):
            "cannot sign resource \(JSONText.quoted(path)): \(reason)"
        case .duplicateResource(let path):
            "resource \(JSONText.quoted(path)) is listed twice"
        case .invalidIgnorePath(let path, let reason):
            "ignore path \(JSONText.quoted(path)) is invalid: \(reason)"
        }
    }

    public var isUnreadableInput: Bool { true }
}
