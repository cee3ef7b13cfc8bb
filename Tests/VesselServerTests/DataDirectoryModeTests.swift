import Foundation
import Logging
import Testing
import VesselCore
import VesselMetadata
@testable import VesselServer

#if canImport(Glibc)
import Glibc
#endif

/// The data directory holds token hashes and webhook signing secrets: it is the owner's only
/// (0700), its files 0600, blobs 0400, whatever the umask; a looser existing one is tightened.
@Suite struct DataDirectoryModeTests {
    static func mode(_ path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o7777
    }

    static func octal(_ mode: mode_t?) -> String { mode.map { String($0, radix: 8) } ?? "missing" }

    @Test func theDataDirectoryAndItsFilesAreTheOwnersOnly() async throws {
        try await APIHarness.with { harness, client in
            _ = try await APIHarness.push(client, model: "acme/m", files: ["w.bin": Array(repeating: 7, count: 4096)])
            #expect(Self.mode(harness.dir) == 0o700, "data dir \(Self.octal(Self.mode(harness.dir)))")
            for name in ["metadata.sqlite", "metadata.sqlite-wal", "metadata.sqlite-shm", "deliveries.sqlite", "deliveries.sqlite-wal"] {
                let path = "\(harness.dir)/\(name)"
                #expect(Self.mode(path) == 0o600, "\(name) \(Self.octal(Self.mode(path)))")
            }
            let blobs = try FileManager.default.subpathsOfDirectory(atPath: "\(harness.dir)/blobs/sha256")
                .filter { $0.count > 3 }
            #expect(blobs.count == 1)
            for blob in blobs {
                let path = "\(harness.dir)/blobs/sha256/\(blob)"
                #expect(Self.mode(path) == 0o400, "\(blob) \(Self.octal(Self.mode(path)))")
            }
        }
    }

    /// A data directory and databases made looser (by an older version, or by hand) are
    /// tightened on the next start.
    @Test func aLooserExistingDataDirectoryIsTightenedOnStart() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-modes-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let options = ServerOptions(dataDir: dir, adminToken: APIHarness.adminToken)
        let first = try await Registry.openEmbedded(options, logger: Logger(label: "test"))
        await first.shutdown()
        chmod(dir, 0o755)
        for name in ["metadata.sqlite", "deliveries.sqlite"] { chmod("\(dir)/\(name)", 0o644) }
        let again = try await Registry.openEmbedded(options, logger: Logger(label: "test"))
        _ = try await again.store.createPrincipal(name: "bob", kind: .user, change: ChangeContext(actor: "admin", requestID: nil))
        #expect(Self.mode(dir) == 0o700, "\(Self.octal(Self.mode(dir)))")
        for name in ["metadata.sqlite", "metadata.sqlite-wal", "deliveries.sqlite"] {
            #expect(Self.mode("\(dir)/\(name)") == 0o600, "\(name) \(Self.octal(Self.mode("\(dir)/\(name)")))")
        }
        await again.shutdown()
    }
}
