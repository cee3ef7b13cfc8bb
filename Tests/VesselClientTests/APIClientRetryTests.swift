import Foundation
import Synchronization
import Testing
import VesselCore
@testable import VesselClient

#if canImport(Glibc)
import Glibc
#endif

/// `APIClient.send` on real sockets that fail as a dead or restarting server does, with the
/// retry budget's clock and sleep injected: the HTTP client's own errors must come out as
/// transient failures, and the last one as `unavailable`.
@Suite struct APIClientRetryTests {
    /// A client with `budget`, pausing on a clock that only its sleeps advance.
    func client(port: Int, budget: Duration, time: OutageRetryTests.FakeTime) -> APIClient {
        APIClient(config: ClientConfig(server: "http://127.0.0.1:\(port)", token: "t"), retry: time.outage(budget))
    }

    @Test func aRefusedConnectionIsRetriedUntilTheBudgetEnds() async throws {
        let socket = try LoopbackSocket(listening: false)
        defer { socket.close() }
        let time = OutageRetryTests.FakeTime()
        let api = client(port: socket.port, budget: .seconds(2), time: time)
        do {
            _ = try await api.whoami()
            Issue.record("a refused connection answered")
        } catch let error as VesselError {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("connection refused"), "\(error.message)")
            #expect(error.message.contains("still failing after retrying for 2.0s"), "\(error.message)")
        }
        await api.shutdown()
        #expect(time.pauses.count >= 3)
        #expect(time.notices.first?.reason == "cannot reach http://127.0.0.1:\(socket.port): connection refused")
    }

    @Test func aConnectionClosedBeforeAnAnswerIsRetried() async throws {
        let socket = try LoopbackSocket(listening: true)
        defer { socket.close() }
        let closer = Thread { socket.acceptAndCloseUntilClosed() }
        closer.start()
        let time = OutageRetryTests.FakeTime()
        let api = client(port: socket.port, budget: .seconds(1), time: time)
        await #expect(throws: VesselError.self) { _ = try await api.whoami() }
        await api.shutdown()
        #expect(socket.accepted >= 2, "the request was sent again")
        #expect(time.notices.contains { $0.reason.contains("closed before an answer") || $0.reason.contains("connection reset") }, "\(time.notices)")
    }

    @Test func withoutABudgetTheFirstFailureIsFinal() async throws {
        let socket = try LoopbackSocket(listening: false)
        defer { socket.close() }
        let api = APIClient(config: ClientConfig(server: "http://127.0.0.1:\(socket.port)", token: "t"), retryFor: .zero)
        await #expect(throws: VesselError.self) { _ = try await api.whoami() }
        await api.shutdown()
    }
}

/// A loopback TCP socket on a port of its own: bound but not listening (connections are
/// refused), or listening, its connections closed as soon as they are accepted.
final class LoopbackSocket: Sendable {
    let fd: Int32
    let port: Int
    private let count = Mutex(0)
    var accepted: Int { count.withLock { $0 } }

    init(listening: Bool) throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard bound == 0, !listening || listen(fd, 16) == 0 else {
            Glibc.close(fd)
            throw ScratchError("loopback socket")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Accepts connections and closes each at once, until `close()`.
    func acceptAndCloseUntilClosed() {
        while true {
            let connection = accept(fd, nil, nil)
            guard connection >= 0 else { return }
            count.withLock { $0 += 1 }
            Glibc.close(connection)
        }
    }

    func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }
}
