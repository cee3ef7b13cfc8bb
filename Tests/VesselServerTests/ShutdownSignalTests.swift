import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing
import VesselCore
@testable import VesselServer

/// The hook long-polls await (`ShutdownSignal.wait`): a request waiting in it answers at once
/// when the graceful shutdown begins, long before its own wait would run out; outside a
/// shutdown it returns the body's value or times out. And the start-up retry loop.
@Suite(.timeLimit(.minutes(2)))
struct ShutdownSignalTests {
    @Test func aWaitingRequestAnswersAtOnceWhenTheGracefulShutdownBegins() async throws {
        let entered = AsyncStream<Void>.makeStream()
        let router = Router()
        router.get("/poll") { _, _ -> String in
            entered.continuation.yield()
            switch try await ShutdownSignal.wait(upTo: .seconds(600), { try await Task.sleep(for: .seconds(3600)) }) {
            case .value: return "value"
            case .timedOut: return "timed-out"
            case .shuttingDown: return "shutting-down"
            }
        }
        let port = Mutex<Int?>(nil)
        let running = AsyncStream<Void>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: { channel in
            port.withLock { $0 = channel.localAddress?.port }
            running.continuation.yield()
        })
        var configuration = ServiceGroupConfiguration(services: [.init(service: app)], logger: Logger(label: "test"))
        configuration.maximumGracefulShutdownDuration = .seconds(600)
        let group = ServiceGroup(configuration: configuration)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var runningSignals = running.stream.makeAsyncIterator()
            _ = await runningSignals.next()
            let url = "http://127.0.0.1:\(try #require(port.withLock { $0 }))/poll"
            let answer = Task { () throws -> String in
                let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(120))
                return String(buffer: try await response.body.collect(upTo: 1024))
            }
            var enteredSignals = entered.stream.makeAsyncIterator()
            _ = await enteredSignals.next()
            let triggered = ContinuousClock.now
            await group.triggerGracefulShutdown()
            #expect(try await answer.value == "shutting-down")
            #expect(triggered.duration(to: .now) < .seconds(30), "answered at once, not after its 600 s wait")
            try await tasks.waitForAll()
        }
        try await client.shutdown()
    }

    @Test func outsideAShutdownTheWaitEndsWithItsBodyOrItsTimeout() async throws {
        guard case .value(let value) = try await ShutdownSignal.wait(upTo: .seconds(600), { 42 }) else {
            Issue.record("the body's value was expected")
            return
        }
        #expect(value == 42)
        guard case .timedOut = try await ShutdownSignal.wait(upTo: .milliseconds(10), { try await Task.sleep(for: .seconds(3600)) }) else {
            Issue.record("a timeout was expected")
            return
        }
        #expect(!ShutdownSignal.isShuttingDown)
    }

    @Test func theStartRetriesUnavailableUntilItSucceeds() async throws {
        var options = ServerOptions(dataDir: "/nonexistent")
        options.startupTimeout = .seconds(120)
        let attempts = Mutex(0)
        let value = try await ServerLifecycle.openRetrying(options, logger: Logger(label: "test")) { _, _ in
            let attempt = attempts.withLock { count in
                count += 1
                return count
            }
            if attempt < 3 { throw VesselError(.unavailable, "not yet") }
            return "open"
        }
        #expect(value == "open" && attempts.withLock { $0 } == 3)
    }

    @Test func theStartDoesNotRetryOtherErrorsAndGivesUpAtItsTimeout() async throws {
        var options = ServerOptions(dataDir: "/data")
        options.startupTimeout = .seconds(1)
        let attempts = Mutex(0)
        await #expect(throws: VesselError.self) {
            try await ServerLifecycle.openRetrying(options, logger: Logger(label: "test")) { _, _ -> Int in
                attempts.withLock { $0 += 1 }
                throw VesselError.invalidArgument("bad key file")
            }
        }
        #expect(attempts.withLock { $0 } == 1, "a misconfiguration fails the start at once")
        do {
            _ = try await ServerLifecycle.openRetrying(options, logger: Logger(label: "test")) { _, _ -> Int in
                throw VesselError(.unavailable, "refused")
            }
            Issue.record("the start should give up")
        } catch let error as VesselError {
            #expect(error.code == .unavailable)
            #expect(error.message.hasPrefix("the database /data/metadata.sqlite could not be reached within 1s (--startup-timeout; "))
            #expect(error.message.hasSuffix("last error: refused"))
        }
    }
}
