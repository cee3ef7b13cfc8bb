import Foundation
import VesselClient

#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
enum ProgressDisplay {
    static func run<T: Sendable>(_ progress: TransferProgress, enabled: Bool, _ body: @Sendable () async throws -> T) async throws -> T {
        guard enabled, isatty(2) == 1 else { return try await body() }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                let start = Date()
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(200))
                    draw(progress.snapshot, elapsed: Date().timeIntervalSince(start))
                }
                StandardStream.err("\r\u{1B}[K".utf8)
                return nil
            }
            let result = try await body()
            group.cancelAll()
            while try await group.next() != nil {}
            return result
        }
    }

    private static func draw(_ state: (phase: String, done: UInt64, total: UInt64), elapsed: Double) {
        let width = 30
        let fraction = state.total > 0 ? min(1, Double(state.done) / Double(state.total)) : 0
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let rate = elapsed > 0 ? Double(state.done) / elapsed : 0
        let text = "\r\(state.phase.padding(toLength: 11, withPad: " ", startingAt: 0)) [\(bar)] \(Output.bytes(state.done))/\(Output.bytes(state.total)) \(Output.bytes(UInt64(rate)))/s\u{1B}[K"
        // Raw: the carriage return and erase-line are the display's own; no user text is in it.
        StandardStream.err(text.utf8)
    }
}
