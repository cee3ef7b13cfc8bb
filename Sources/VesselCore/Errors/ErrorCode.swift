/// The stable error codes of the API and CLI, each with its HTTP status and exit code.
///
/// This is the one table; docs/errors.md renders it for users. Add codes, never rename them.
public enum ErrorCode: String, Sendable, CaseIterable, Codable {
    case invalidArgument = "invalid_argument"
    case digestMismatch = "digest_mismatch"
    case sizeMismatch = "size_mismatch"
    case missingBlobs = "missing_blobs"
    case unauthenticated
    case forbidden
    case notFound = "not_found"
    case alreadyExists = "already_exists"
    case preconditionFailed = "precondition_failed"
    case conflict
    case quarantined
    /// A rule refused the change (a promotion gate, a protected alias); details list each rule.
    case refused
    /// A signature does not verify, does not cover the version it is attached to, or no
    /// signature of a version verifies with the keys the client trusts.
    case notVerified = "not_verified"
    /// A deploy whose version's requirements or image the environment its nodes report does not
    /// satisfy; details list every failing requirement, node by node.
    case incompatible
    case versionNotReady = "version_not_ready"
    case rangeNotSatisfiable = "range_not_satisfiable"
    case payloadTooLarge = "payload_too_large"
    case insufficientStorage = "insufficient_storage"
    case schemaTooNew = "schema_too_new"
    case unavailable
    case internalError = "internal"

    public var httpStatus: Int {
        switch self {
        case .invalidArgument: 400
        case .digestMismatch, .sizeMismatch, .missingBlobs, .notVerified: 422
        case .unauthenticated: 401
        case .forbidden: 403
        case .notFound: 404
        case .alreadyExists, .conflict, .quarantined, .versionNotReady, .refused, .incompatible: 409
        case .preconditionFailed: 412
        case .payloadTooLarge: 413
        case .rangeNotSatisfiable: 416
        case .insufficientStorage: 507
        case .schemaTooNew, .unavailable: 503
        case .internalError: 500
        }
    }

    /// The CLI exit code (see the conventions' table).
    public var exitCode: Int32 {
        switch self {
        case .invalidArgument, .digestMismatch, .sizeMismatch, .missingBlobs, .rangeNotSatisfiable,
             .payloadTooLarge:
            2
        case .notFound: 3
        case .unauthenticated, .forbidden: 4
        case .alreadyExists, .preconditionFailed, .conflict, .versionNotReady: 5
        case .quarantined, .refused, .notVerified, .incompatible: 1
        case .insufficientStorage, .schemaTooNew, .unavailable, .internalError: 6
        }
    }
}
