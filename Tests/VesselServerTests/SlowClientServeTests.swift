import Foundation
import Testing
import VesselTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Slow clients (security issue #21, item 9): a connection that sends part of a request is
/// closed after `--idle-timeout`, and `/healthz` keeps answering — also when slow sockets
/// exhaust the process's descriptor limit. Time bounds are wide: they tell "closed by the
/// idle timeout" from "held for minutes" on a loaded machine, not a speed.
@Suite(.serialized) struct SlowClientServeTests {
    /// `vessel serve --idle-timeout 1s`, under `prlimit --nofile=SOFT:HARD` when given.
    final class Server {
        let process = Process()
        let port = CLI.freePort()
        let dataDir = TempDir.make("vessel-slow")

        init(nofile: (soft: Int, hard: Int)? = nil) throws {
            let vessel = try VesselExecutable.require()
            let serve = [vessel, "serve", "--data-dir", dataDir, "--port", String(port), "--log-level", "notice", "--idle-timeout", "1s"]
            if let nofile {
                process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
                process.arguments = ["--nofile=\(nofile.soft):\(nofile.hard)", "--"] + serve
            } else {
                process.executableURL = URL(fileURLWithPath: vessel)
                process.arguments = Array(serve.dropFirst())
            }
            process.environment = ["PATH": "/usr/bin:/bin", "VESSEL_ADMIN_TOKEN": "vsl_slow-test-admin"]
            _ = FileManager.default.createFile(atPath: "\(dataDir).log", contents: nil)
            let log = FileHandle(forWritingAtPath: "\(dataDir).log")
            process.standardOutput = log
            process.standardError = log
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }

        /// Waits until `/healthz` answers; the seconds it took.
        @discardableResult
        func healthy(within limit: Duration) throws -> Duration {
            let start = ContinuousClock.now
            while ContinuousClock.now - start < limit {
                if Sockets.healthz(port: port) { return ContinuousClock.now - start }
                guard process.isRunning else { break }
                usleep(100_000)
            }
            let log = (try? String(contentsOfFile: "\(dataDir).log", encoding: .utf8)) ?? ""
            throw TestFailure("/healthz did not answer within \(limit): \(log.suffix(2000))")
        }

        deinit {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
            try? FileManager.default.removeItem(atPath: dataDir)
            try? FileManager.default.removeItem(atPath: "\(dataDir).log")
        }
    }

    enum Sockets {
        /// A connected loopback socket (connect and I/O time out after 2 s), or nil.
        static func connect(port: Int) -> Int32? {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return nil }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                close(fd)
                return nil
            }
            return fd
        }

        /// Sockets that sent the start of a request line and nothing more.
        static func slow(_ count: Int, port: Int) -> [Int32] {
            (0..<count).compactMap { _ in
                guard let fd = connect(port: port) else { return nil }
                _ = send(fd, "GET /hea", 8, Int32(MSG_NOSIGNAL))
                return fd
            }
        }

        /// True when `GET /healthz` answers 200 within the socket timeouts.
        static func healthz(port: Int) -> Bool {
            guard let fd = connect(port: port) else { return false }
            defer { close(fd) }
            let request = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            guard send(fd, request, request.utf8.count, Int32(MSG_NOSIGNAL)) == request.utf8.count else { return false }
            var buffer = [UInt8](repeating: 0, count: 256)
            let read = recv(fd, &buffer, buffer.count, 0)
            return read > 0 && String(decoding: buffer.prefix(read), as: UTF8.self).hasPrefix("HTTP/1.1 200")
        }

        /// Waits until the server has closed every socket in `fds` (EOF or reset), at most
        /// `limit`; returns those still open, closing all.
        static func waitClosed(_ fds: [Int32], within limit: Duration) -> Int {
            var open = Set(fds)
            let start = ContinuousClock.now
            while !open.isEmpty, ContinuousClock.now - start < limit {
                var polls = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
                _ = poll(&polls, nfds_t(polls.count), 200)
                for entry in polls where entry.revents != 0 {
                    var byte: UInt8 = 0
                    if recv(entry.fd, &byte, 1, Int32(MSG_DONTWAIT)) <= 0 { open.remove(entry.fd) }
                }
            }
            for fd in fds { close(fd) }
            return open.count
        }
    }

    @Test func partialRequestsAreClosedAfterTheIdleTimeoutWhileHealthzAnswers() throws {
        let server = try Server()
        try server.healthy(within: .seconds(60))
        let slow = Sockets.slow(50, port: server.port)
        #expect(slow.count == 50)
        #expect(Sockets.healthz(port: server.port), "/healthz answers while 50 slow sockets are open")
        #expect(Sockets.waitClosed(slow, within: .seconds(20)) == 0, "the server closes partial requests after the 1 s idle timeout")
    }

    /// With both limits lowered, more slow sockets than descriptors: `/healthz` comes back
    /// once the idle timeout has closed them (idle timeout + 2 s, with a wide margin).
    @Test func healthzRecoversWhenSlowSocketsExhaustTheDescriptorLimit() throws {
        let server = try Server(nofile: (soft: 128, hard: 128))
        try server.healthy(within: .seconds(60))
        let slow = Sockets.slow(300, port: server.port)
        let took = try server.healthy(within: .seconds(20))
        #expect(took < .seconds(20), "\(took)")
        _ = Sockets.waitClosed(slow, within: .seconds(20))
        try server.healthy(within: .seconds(20))
    }

    /// The soft descriptor limit is raised to the hard one at start-up.
    @Test func theSoftDescriptorLimitIsRaisedToTheHardOne() throws {
        let server = try Server(nofile: (soft: 256, hard: 2048))
        try server.healthy(within: .seconds(60))
        let limits = try String(contentsOfFile: "/proc/\(server.process.processIdentifier)/limits", encoding: .utf8)
        let line = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
        let numbers = line.split(separator: " ").compactMap { Int($0) }
        #expect(numbers == [2048, 2048], "\(line)")
    }
}
