import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The one writer to the process's stdout and stderr, and what a failed write does.
///
/// A reader that stops early (`vessel show --json | head -c 10`) closes the pipe. By default
/// the next write kills the process with SIGPIPE, and with SIGPIPE ignored Foundation's
/// `FileHandle.write` traps on the EPIPE error. Vessel ignores SIGPIPE (`ignoreBrokenPipe`,
/// at start-up) and treats EPIPE as "nobody wants the rest": the write is dropped without a
/// word, and so is every later one, while the command runs to its end and exits with its own
/// status — 0 for a `show` that succeeded, 3 for a `show --json` of a missing model whose
/// error object nobody read. So `set -o pipefail` scripts still see real failures, and
/// nothing is printed on a terminal that only stopped reading. (Many Unix tools die by
/// SIGPIPE instead, status 141 in a shell; Vessel's exit codes mean something, so it keeps them.)
///
/// Any other failure to write stdout (a full disk behind `> file`) would silently lose
/// results: it prints one line on stderr and exits 6, the code of `insufficient_storage`.
/// Failures on stderr are dropped: there is nowhere left to report them.
enum StandardStream {
    /// Makes a write to a closed pipe fail with EPIPE instead of killing the process.
    static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    static func out(_ bytes: some Sequence<UInt8>) { write(Array(bytes), to: STDOUT_FILENO) }

    static func err(_ bytes: some Sequence<UInt8>) { write(Array(bytes), to: STDERR_FILENO) }

    private static func write(_ bytes: [UInt8], to descriptor: Int32) {
        let failure: Int32? = bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return nil }
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, base + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    // A non-blocking descriptor inherited from the caller: wait until it drains.
                    var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&ready, 1, -1)
                } else {
                    return written < 0 ? errno : EIO
                }
            }
            return nil
        }
        guard let failure, descriptor == STDOUT_FILENO, failure != EPIPE else { return }
        err(Array("error: cannot write the output: \(String(cString: strerror(failure)))\n".utf8))
        exit(6)
    }
}
