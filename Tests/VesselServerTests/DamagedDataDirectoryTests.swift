import Foundation
import Logging
import Testing
import VesselCore
@testable import VesselServer

/// A database file in the data directory that is not a SQLite database stops the start with
/// an error naming it, and is left as it was for whoever restores it. (Before, the start
/// crashed on an unclosed connection in debug builds and named no file in release builds.)
@Suite struct DamagedDataDirectoryTests {
    @Test(arguments: ["metadata.sqlite", "deliveries.sqlite"])
    func aFileThatIsNotADatabaseStopsTheStartNamingIt(_ name: String) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-damaged-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) })
        #expect(FileManager.default.createFile(atPath: "\(dir)/\(name)", contents: garbage))
        do {
            let registry = try await Registry.openEmbedded(ServerOptions(dataDir: dir, adminToken: APIHarness.adminToken), logger: Logger(label: "test"))
            await registry.shutdown()
            Issue.record("a registry opened on a damaged \(name)")
        } catch let error as VesselError {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("\(dir)/\(name)") && error.message.contains("not a database"), "\(error.message)")
        }
        #expect(FileManager.default.contents(atPath: "\(dir)/\(name)") == garbage, "the damaged file was changed")
    }
}
