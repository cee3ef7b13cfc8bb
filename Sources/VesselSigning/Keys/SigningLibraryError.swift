/// The common shape of every error thrown by VesselSigning.
///
/// Each error has a stable snake_case ``code`` (for JSON output and tests), a
/// user-facing ``message`` that says what happened and what to do, and a
/// classification used for exit codes: ``isUnreadableInput`` errors mean the
/// input could not be read or is malformed (exit code 2); all others mean a
/// negative verdict such as "not verified" (exit code 1) unless the caller maps
/// them otherwise.
public protocol SigningLibraryError: Error, Sendable, CustomStringConvertible {
    /// Stable snake_case identifier, e.g. `signature_invalid`.
    var code: String { get }
    /// Human-readable explanation; never contains key material or PINs.
    var message: String { get }
    /// `true` when the input is malformed or unreadable (exit code 2),
    /// `false` for a negative verdict (exit code 1).
    var isUnreadableInput: Bool { get }
}

extension SigningLibraryError {
    /// `"<code>: <message>"`.
    public var description: String { "\(code): \(message)" }

    /// The process exit code under Vessel's conventions: 2 for unreadable input, 1 otherwise.
    public var exitCode: Int32 { isUnreadableInput ? 2 : 1 }
}
