import struct Crypto.SHA256
import Foundation
import Synchronization
import Testing
import VesselCore
@testable import VesselClient

#if canImport(Glibc)
import Glibc
#endif

/// Claims on partial downloads in a shared cache (decision 0019): one holder at a time, taken
/// over when stale (expired, or its process on this host is gone), and a waiter that gets the
/// blob its peer downloaded without downloading it again.
@Suite struct BlobClaimTests {
    @Test func aClaimIsExclusiveUntilReleased() throws {
        let dir = try Scratch("vessel-claim")
        defer { dir.remove() }
        let path = "\(dir.path)/x.claim"
        guard case .acquired(let first) = BlobClaim.take(path) else { Issue.record("the first claim was refused"); return }
        guard case .held(let owner) = BlobClaim.take(path) else { Issue.record("a second claim was granted"); return }
        #expect(owner.contains(String(getpid())), "\(owner)")
        first.release()
        #expect(access(path, F_OK) != 0, "a released claim is removed")
        guard case .acquired(let again) = BlobClaim.take(path) else { Issue.record("a released claim could not be taken"); return }
        again.release()
    }

    @Test func anExpiredClaimIsTakenOver() throws {
        let dir = try Scratch("vessel-claim")
        defer { dir.remove() }
        let path = "\(dir.path)/x.claim"
        guard case .acquired(let old) = BlobClaim.take(path) else { Issue.record("the first claim was refused"); return }
        // Its holder stopped refreshing it 31 s ago.
        var times = [timespec(tv_sec: time(nil) - 31, tv_nsec: 0), timespec(tv_sec: time(nil) - 31, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        guard case .acquired(let new) = BlobClaim.take(path) else { Issue.record("an expired claim was not taken over"); return }
        // The old holder's release leaves the new holder's claim alone.
        old.release()
        #expect(access(path, F_OK) == 0)
        guard case .held = BlobClaim.take(path) else { Issue.record("the new claim is not exclusive"); return }
        new.release()
    }

    @Test func aClaimOfAProcessThatIsGoneIsTakenOverAtOnce() throws {
        let dir = try Scratch("vessel-claim")
        defer { dir.remove() }
        let path = "\(dir.path)/x.claim"
        // A process of this host that no longer exists (SIGKILLed mid-download), fresh mtime.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        try "\(BlobClaim.hostName) \(child.processIdentifier) dead\n".write(toFile: path, atomically: false, encoding: .utf8)
        guard case .acquired(let claim) = BlobClaim.take(path) else { Issue.record("a dead process's claim was not taken over"); return }
        claim.release()
        // Another host's claim is only ever taken over when it expires.
        try "some-other-host 1 alive\n".write(toFile: path, atomically: false, encoding: .utf8)
        guard case .held = BlobClaim.take(path) else { Issue.record("another host's fresh claim was taken over"); return }
    }

    @Test func aWaiterGetsTheBlobItsPeerDownloaded() async throws {
        let dir = try Scratch("vessel-claim")
        defer { dir.remove() }
        let cache = try BlobCache(root: "\(dir.path)/cache")
        let bytes = [UInt8](repeating: 7, count: 4096)
        let digest = Digest(bytes: SHA256.hash(data: bytes))
        let downloads = Count()
        let results = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await cache.whileClaimed(digest, size: UInt64(bytes.count), poll: .milliseconds(10)) {
                        downloads.add()
                        try await Task.sleep(for: .milliseconds(300))
                        let partial = cache.partialPath(of: digest)
                        _ = FileManager.default.createFile(atPath: partial, contents: Data(bytes))
                        return try cache.insert(verifiedFile: partial, digest: digest)
                    }
                }
            }
            var all: [String?] = []
            for try await result in group { all.append(result) }
            return all
        }
        #expect(downloads.value == 1, "each blob is downloaded once")
        #expect(results.compactMap { $0 }.count == 1 && results.filter { $0 == nil }.count == 2, "\(results)")
        #expect(cache.lookup(digest, size: UInt64(bytes.count), verify: true) != nil)
        #expect(access(cache.claimPath(of: digest), F_OK) != 0, "the claim is gone after the download")
    }
}

final class Count: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
