import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A loopback port where a client's first connection is accepted and reset unanswered: the
/// signal that a client has started talking to a server that is not there yet. After
/// `close()` the port refuses connections until a real server (`vessel serve --port`) takes it.
public final class KnockListener: Sendable {
    public let port: Int
    private let fd: Int32
    private let closed = Mutex(false)

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        guard fd >= 0, bound == 0, listen(fd, 16) == 0 else {
            Glibc.close(fd)
            throw TestFailure("cannot listen on a loopback port")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Waits, on a thread of its own (never one of the cooperative pool's), until a client
    /// connects, then resets that connection without a word. Returns false when the listener
    /// was closed first; cancelling the task closes it.
    public func firstKnock() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let fd = fd
                Thread {
                    let connection = accept(fd, nil, nil)
                    if connection >= 0 {
                        // Reset, not a graceful close: no TIME_WAIT is left on the port, which
                        // would keep a server from binding it next.
                        var reset = linger(l_onoff: 1, l_linger: 0)
                        _ = setsockopt(connection, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
                        Glibc.close(connection)
                    }
                    continuation.resume(returning: connection >= 0)
                }.start()
            }
        } onCancel: {
            close()
        }
    }

    /// Stops listening and frees the port: connections to it are refused from now on (until
    /// a server takes it). Idempotent.
    public func close() {
        guard closed.withLock({ closed in defer { closed = true }; return !closed }) else { return }
        shutdown(fd, Int32(SHUT_RDWR))  // wakes a thread blocked in accept
        Glibc.close(fd)
    }

    deinit { close() }
}
