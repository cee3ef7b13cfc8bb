import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// A failure that says "the same request may pass later", as `APIClient.send` sees it:
/// - the connection failed before an answer: refused, reset, closed, timed out;
/// - the server answered 503 `unavailable` *with* `Retry-After` (a backend is down for now);
/// - something in front of the server (a proxy, a load balancer) answered 502, 503 or 504
///   without a Vessel error body (a replica restarting behind it).
///
/// A Vessel 503 *without* `Retry-After` is a permanent misconfiguration (wrong bucket, wrong
/// credentials) and is not one of these: retrying cannot fix it, so it fails at once.
///
/// Only a `RetryPolicy` with a budget (`--retry-for`) ever sees this type; everywhere else
/// `error`, the `VesselError` the failure always was, is thrown instead.
struct TransientFailure: Error, CustomStringConvertible {
    /// What the caller sees when the retries run out (or when nothing retries).
    var error: VesselError
    /// Why, in a few words, for the progress line: "connection refused", "database
    /// unavailable (503)".
    var reason: String
    /// The server's `Retry-After`: the least pause before the next attempt.
    var retryAfter: Duration?

    var description: String { "\(reason): \(error)" }

    /// The error to throw when the retries of `budget` are spent.
    func exhausted(after budget: Duration) -> VesselError {
        VesselError(error.code, "\(error.message) (still failing after retrying for \(Timestamp.formatDuration(budget)); see --retry-for)", details: error.details)
    }

    /// `error` as the caller should see it: a `TransientFailure` unwrapped, anything else as is.
    static func surfaced(_ error: any Error) -> any Error {
        (error as? TransientFailure)?.error ?? error
    }

    /// Why a transport error of the HTTP client is worth another attempt, or nil when it is
    /// not: an unknown host, a bad URL, TLS, a cancelled request or an exceeded deadline fail
    /// the same way again.
    static func connectionFailure(_ error: any Error) -> String? {
        switch error {
        case let error as HTTPClientError:
            switch error {
            case .connectTimeout, .getConnectionFromPoolTimeout: return "connection timed out"
            case .readTimeout, .writeTimeout: return "no answer in time"
            case .remoteConnectionClosed: return "connection closed before an answer"
            default: return nil
            }
        case let error as NIOConnectionError:
            // Only DNS errors and no connection attempt: the name does not resolve.
            guard let first = error.connectionErrors.first else { return nil }
            return connectionFailure(first.error) ?? "cannot connect"
        case let error as IOError:
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused"
            case ECONNRESET, ECONNABORTED, EPIPE: return "connection reset"
            case ETIMEDOUT: return "connection timed out"
            case ENETUNREACH, EHOSTUNREACH, ENETDOWN, EHOSTDOWN: return "network unreachable"
            default: return nil
            }
        case let error as ChannelError:
            switch error {
            case .connectTimeout: return "connection timed out"
            case .ioOnClosedChannel, .eof, .alreadyClosed, .outputClosed, .inputClosed: return "connection closed before an answer"
            default: return nil
            }
        default:
            return nil
        }
    }

    /// Whether an error answer may pass later, and then the failure to retry; nil when it is
    /// final. `vesselError` is the decoded Vessel error body, nil when the body was not one.
    static func answer(status: UInt, reasonPhrase: String, retryAfter header: String?, vesselError: VesselError?, thrown: VesselError, now: Date = Date()) -> TransientFailure? {
        if let vesselError {
            guard status == 503, let header, let pause = retryAfter(header, now: now) else { return nil }
            return TransientFailure(error: thrown, reason: "\(firstClause(vesselError.message)) (503)", retryAfter: pause)
        }
        guard [502, 503, 504].contains(status) else { return nil }
        return TransientFailure(error: thrown, reason: "the server answered \(status) \(reasonPhrase)", retryAfter: header.flatMap { retryAfter($0, now: now) })
    }

    /// `Retry-After` as delay-seconds or an HTTP date; nil when it is neither.
    static func retryAfter(_ header: String, now: Date) -> Duration? {
        let text = header.trimmingCharacters(in: .whitespaces)
        if let seconds = UInt64(text) { return .seconds(Int64(min(seconds, 86_400))) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        let seconds = max(0, min(date.timeIntervalSince(now), 86_400))
        return .milliseconds(Int64(seconds * 1000))
    }

    /// A server message up to its first `; `, `. ` or line break: the reason without the
    /// advice after it, at most 120 characters.
    static func firstClause(_ message: String) -> String {
        var clause = Substring(message)
        for separator in ["; ", ". ", "\n"] {
            if let range = clause.range(of: separator) { clause = clause[..<range.lowerBound] }
        }
        return String((clause.isEmpty ? Substring(message) : clause).prefix(120))
    }
}

/// What the client tells its user while it waits out an outage: "database unavailable (503),
/// retrying in 2.1s, 1m40s left".
public struct RetryNotice: Sendable, CustomStringConvertible {
    /// Why the last attempt failed.
    public var reason: String
    /// The pause before the next attempt.
    public var pause: Duration
    /// What is left of `--retry-for` for this request, the pause included.
    public var left: Duration

    public var description: String {
        "\(reason), retrying in \(Timestamp.formatDuration(pause)), \(Timestamp.formatDuration(left)) left"
    }
}
