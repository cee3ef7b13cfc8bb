/// A domain error with a stable code and a message that says what happened and what to do.
///
/// Messages never contain SQL, stack traces or server paths. Backend errors become
/// `VesselError`s at the backend's edge; the HTTP layer turns them into
/// `{"error": {"code", "message"}}` and the client decodes them back.
public struct VesselError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: ErrorCode
    public let message: String
    /// Extra structured detail (for example the missing digests of `missing_blobs`).
    public let details: [String]
    /// Seconds after which the same request may well succeed (the HTTP `Retry-After` header):
    /// set on `unavailable` while a backend cannot be reached for a passing reason. Nil when
    /// waiting will not help by itself (wrong credentials, no such bucket).
    public let retryAfter: Int?

    public init(_ code: ErrorCode, _ message: String, details: [String] = [], retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.details = details
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public static func invalidArgument(_ message: String) -> VesselError { .init(.invalidArgument, message) }
    public static func notFound(_ message: String) -> VesselError { .init(.notFound, message) }
    public static func alreadyExists(_ message: String) -> VesselError { .init(.alreadyExists, message) }
    public static func preconditionFailed(_ message: String) -> VesselError { .init(.preconditionFailed, message) }
    public static func conflict(_ message: String) -> VesselError { .init(.conflict, message) }
    public static func unauthenticated(_ message: String) -> VesselError { .init(.unauthenticated, message) }
    public static func forbidden(_ message: String) -> VesselError { .init(.forbidden, message) }
    public static func notVerified(_ message: String) -> VesselError { .init(.notVerified, message) }
    public static func internalError(_ message: String) -> VesselError { .init(.internalError, message) }
}

/// The JSON body of every API error: `{"error": {"code", "message"}}`.
public struct ErrorBody: Codable, Sendable {
    public struct Inner: Codable, Sendable {
        public var code: String
        public var message: String
        public var details: [String]?
    }

    public var error: Inner

    /// An error object for a code outside `ErrorCode` (the signing library's codes, which
    /// `vessel sign`/`vessel verify` print; docs/signing.md lists them).
    public init(code: String, message: String, details: [String] = []) {
        self.error = Inner(code: code, message: message, details: details.isEmpty ? nil : details)
    }

    public init(_ error: VesselError) {
        self.error = Inner(code: error.code.rawValue, message: error.message, details: error.details.isEmpty ? nil : error.details)
    }

    public var vesselError: VesselError {
        VesselError(ErrorCode(rawValue: error.code) ?? .internalError, error.message, details: error.details ?? [])
    }
}
