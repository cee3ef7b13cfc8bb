import Foundation
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// Who downloads a blob into a cache that several processes share (several agents on one
/// host, or a shared volume): `partial/<hex>.claim`, created with `O_CREAT|O_EXCL` so exactly
/// one process holds it, holding `"<host> <pid> <token>"`. The holder refreshes its mtime
/// every `heartbeat` while it downloads and removes it when done; the others wait for the blob
/// to appear in the cache. A claim whose mtime is older than `expiry`, or whose holder is a
/// process of this host that no longer exists (a download killed with SIGKILL), is stale and
/// may be taken over: renamed aside (only one renamer wins) and created afresh. No lock is
/// shared, so it works on file systems without one (NFS); the partial file is resumed by
/// whoever holds the claim, and every byte is still hashed before the blob enters the cache,
/// so even two holders at once (a holder frozen for longer than the expiry) cannot put a bad
/// blob there — they only waste a download. Decision 0019.
public final class BlobClaim: Sendable {
    public static let expiry: Duration = .seconds(30)
    public static let heartbeat: Duration = .seconds(5)

    let path: String
    let token: String
    private let fd: Int32

    private init(path: String, token: String, fd: Int32) {
        self.path = path
        self.token = token
        self.fd = fd
    }

    /// The holder is still working: the claim's mtime becomes now.
    public func refresh() { _ = futimens(fd, nil) }

    /// Gives the claim up (removing the file only while it is still this holder's).
    public func release() {
        if let text = try? String(contentsOfFile: path, encoding: .utf8), text.contains(token) { unlink(path) }
        close(fd)
    }

    /// What `take` found.
    enum Attempt {
        case acquired(BlobClaim)
        /// Another live holder has it.
        case held(by: String)
    }

    /// Tries to take the claim at `path` once: creates it, or takes over a stale one.
    static func take(_ path: String, now: Date = Date()) -> Attempt {
        let token = "\(hostName) \(getpid()) \(UUID().uuidString.prefix(12))"
        for _ in 0..<3 {
            let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
            if fd >= 0 {
                let line = token + "\n"
                _ = line.withCString { write(fd, $0, strlen($0)) }
                return .acquired(BlobClaim(path: path, token: token, fd: fd))
            }
            guard errno == EEXIST else {
                // Cannot create claims here (a read-only partial folder?): download unclaimed,
                // as before claims existed.
                return .acquired(BlobClaim(path: "/nonexistent-claim", token: token, fd: -1))
            }
            guard let holder = staleness(of: path, now: now) else { continue }  // vanished: try again
            if holder.live { return .held(by: holder.owner) }
            // Stale: move it aside; of several peers doing the same, one rename wins.
            let aside = "\(path).stale-\(UUID().uuidString.prefix(8))"
            guard rename(path, aside) == 0 else { continue }
            if let moved = staleness(of: aside, now: now), moved.live {
                // Between the check and the rename a peer replaced the stale claim with a live
                // one: put it back (unless yet another peer created one meanwhile).
                _ = link(aside, path)
                unlink(aside)
                return .held(by: moved.owner)
            }
            unlink(aside)
        }
        return .held(by: "another process")
    }

    /// The claim's holder and whether it is live; nil when the file is gone.
    static func staleness(of path: String, now: Date) -> (owner: String, live: Bool)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let owner = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let modified = Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
        let expiry = Double(Self.expiry.components.seconds)
        if now.timeIntervalSince(modified) > expiry { return (owner, false) }
        let fields = owner.split(separator: " ")
        if fields.count >= 2, fields[0] == Substring(hostName), let pid = Int32(fields[1]), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
            return (owner, false)
        }
        // An empty claim (its holder died between creating and writing it) expires like any other.
        return (owner.isEmpty ? "a process that has not named itself yet" : owner, true)
    }

    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }()
}

extension BlobCache {
    func claimPath(of digest: Digest) -> String { "\(root)/partial/\(digest.hex).claim" }

    /// Runs `download` holding the claim on `digest`'s partial file, refreshing it meanwhile;
    /// or, while another process holds it, waits until the blob is in the cache (nil: the
    /// caller takes it from there) or the claim goes stale (then takes it over).
    func whileClaimed<T: Sendable>(_ digest: Digest, size: UInt64, poll: Duration = .milliseconds(100),
                                   _ download: @Sendable () async throws -> T) async throws -> T? {
        while true {
            if lookup(digest, size: size, verify: false) != nil { return nil }
            switch BlobClaim.take(claimPath(of: digest)) {
            case .acquired(let claim):
                defer { claim.release() }
                // Another process may have finished between the lookup and the claim.
                if lookup(digest, size: size, verify: false) != nil { return nil }
                let heartbeat = Task {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: BlobClaim.heartbeat)
                        claim.refresh()
                    }
                }
                defer { heartbeat.cancel() }
                return try await download()
            case .held:
                try await Task.sleep(for: poll)
            }
        }
    }
}
