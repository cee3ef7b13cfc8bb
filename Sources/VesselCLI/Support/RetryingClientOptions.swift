import ArgumentParser
import Foundation
import Synchronization
import VesselClient
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// `ClientOptions` plus `--retry-for`, for the commands whose requests are safe to repeat
/// (`push`, `pull`, `alias set`, `promote`, `check report`): each request waits out an
/// outage — a connection refused, reset or timed out before an answer, or `unavailable` with
/// `Retry-After` — for up to `--retry-for`, with exponential backoff and jitter, and says on
/// stderr that it is waiting and why (not with `--json`).
///
/// A command adopts it in one line, in place of `ClientOptions`:
///
///     @OptionGroup var client: RetryingClientOptions
///
/// and uses `client.withClient { api in … }` and `client.json` as before. Only adopt it where
/// every request the command sends can be repeated without doing a thing twice (README,
/// "Retries"; docs/api.md says which writes are idempotent).
struct RetryingClientOptions: ParsableArguments {
    @OptionGroup var connection: ClientOptions

    @Option(name: .customLong("retry-for"), help: ArgumentHelp(
        "Wait out an unreachable or unavailable server for up to this long per request, e.g. 2m, 90s or 1h; 0 disables.",
        valueName: "duration"))
    var retryFor = RetryDuration(.seconds(120))

    var json: Bool { connection.json }
    var server: String? { connection.server }

    /// An API client whose requests wait out outages; shut down after `body`.
    func withClient<T>(_ body: (APIClient) async throws -> T) async throws -> T {
        guard !json else { return try await connection.withClient(retryFor: retryFor.duration, body) }
        let notices = RetryNotices()
        return try await connection.withClient(retryFor: retryFor.duration, onRetry: { notices.show($0) }, body)
    }
}

/// A `--retry-for` value: `Timestamp.parseDuration`'s forms (`45s`, `2m`, `1h`), or `0`.
struct RetryDuration: ExpressibleByArgument, CustomStringConvertible, Sendable {
    var duration: Duration

    init(_ duration: Duration) {
        self.duration = duration
    }

    init?(argument: String) {
        if argument == "0" || argument == "0s" {
            duration = .zero
        } else if let seconds = try? Timestamp.parseDuration(argument) {
            duration = .seconds(seconds)
        } else {
            return nil
        }
    }

    var description: String { duration == .zero ? "0" : Timestamp.formatDuration(duration) }
}

/// Prints retry notices on stderr: one line for a burst (parallel transfers failing at once
/// announce the same outage), clearing a progress bar's line first on a terminal.
final class RetryNotices: Sendable {
    private let last = Mutex<(reason: String, at: ContinuousClock.Instant)?>(nil)

    func show(_ notice: RetryNotice) {
        let now = ContinuousClock.now
        let due = last.withLock { last -> Bool in
            if let previous = last, previous.reason == notice.reason, previous.at.duration(to: now) < .seconds(1) { return false }
            last = (notice.reason, now)
            return true
        }
        guard due else { return }
        if isatty(2) == 1 { StandardStream.err("\r\u{1B}[K".utf8) }
        Output.diagnostic(notice.description)
    }
}
