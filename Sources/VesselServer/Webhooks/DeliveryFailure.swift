#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import AsyncHTTPClient
import NIOCore
import NIOPosix

/// Why an attempt failed without an HTTP status, in words for the attempt log. The timeouts
/// and refusals a receiver causes are told apart by the error types AsyncHTTPClient and NIO
/// throw; any other error is described as it is.
enum DeliveryFailure: Comparable {
    // In order of precedence: a connection error holding several kinds is the first of them.
    case noAnswer
    case connectTimeout
    case refused

    var message: String {
        switch self {
        case .noAnswer: "the receiver did not answer in time"
        case .connectTimeout: "connecting to the receiver timed out"
        case .refused: "the receiver refused the connection"
        }
    }

    /// The attempt log's text for `error` (a `VesselError` carries its own message instead).
    static func describe(_ error: any Error) -> String {
        kind(of: error)?.message ?? "delivery failed: \(String(describing: error).prefix(300))"
    }

    /// The kind of `error`, or nil for one that is none of them.
    static func kind(of error: any Error) -> DeliveryFailure? {
        switch error {
        case let error as HTTPClientError:
            if error == .deadlineExceeded || error == .readTimeout { return .noAnswer }
            return error == .connectTimeout ? .connectTimeout : nil
        case let error as ChannelError:
            if case .connectTimeout = error { return .connectTimeout }
            return nil
        case let error as IOError:
            return error.errnoCode == ECONNREFUSED ? .refused : nil
        case let error as NIOConnectionError:
            // A failed DNS lookup is the whole story; otherwise every address's failure counts.
            if let dns = error.dnsAError ?? error.dnsAAAAError { return kind(of: dns) }
            return error.connectionErrors.compactMap { kind(of: $0.error) }.min()
        default:
            return nil
        }
    }
}
