import Foundation
import Logging
import SQLKit
import Testing
import VesselCore
import VesselMetadata
import VesselTestSupport
@testable import VesselClient

/// Two `vessel serve` processes on one PostgreSQL database (and one blob directory), started
/// together: migrations and the admin bootstrap take turns under advisory locks, a model
/// pushed through one is pulled through the other, and concurrent alias moves with
/// `--expect-current` through both leave exactly one winner.
@Suite(.serialized) struct TwoReplicaTests {
    static let postgresURL = ProcessInfo.processInfo.environment["VESSEL_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    @Test(.enabled(if: VesselExecutable.path != nil && postgresURL != nil, "needs the vessel executable and VESSEL_TEST_POSTGRES_URL"))
    func pushThroughOnePullThroughTheOther() async throws {
        guard let text = Self.postgresURL else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-replicas-\(UUID().uuidString)").path
        defer {
            for path in [dir, "\(dir)-a.log", "\(dir)-b.log"] { try? FileManager.default.removeItem(atPath: path) }
        }
        try await Self.withDatabase(text) { url in
            async let startA = ServeProcess(dataDir: dir, arguments: ["--database", url], log: "\(dir)-a.log")
            async let startB = ServeProcess(dataDir: dir, arguments: ["--database", url], log: "\(dir)-b.log")
            let (a, b) = try await (startA, startB)
            defer { a.stop(); b.stop() }
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/admin-token"), "a shared database writes no admin-token file")
            let apiA = a.client(), apiB = b.client()
            do {
                let model = try ModelName("acme/replicated")
                let bytes = UploadSessionAPITests.payload(mebibytes: 1)
                try FileManager.default.createDirectory(atPath: "\(dir)-src", withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: "\(dir)-src") }
                _ = FileManager.default.createFile(atPath: "\(dir)-src/w.bin", contents: Data(bytes))
                let first = try await Pusher(api: apiA).push(folder: "\(dir)-src", model: model, alias: try AliasName("prod"), description: nil)
                _ = FileManager.default.createFile(atPath: "\(dir)-src/w.bin", contents: Data(bytes.reversed()))
                let second = try await Pusher(api: apiB).push(folder: "\(dir)-src", model: model, alias: nil, description: nil)
                #expect(first.version == 1 && second.version == 2)

                let cache = try BlobCache(root: "\(dir)-cache")
                defer { try? FileManager.default.removeItem(atPath: "\(dir)-cache") }
                _ = try await Puller(api: apiB, cache: cache).pull(try Reference("acme/replicated@prod"), into: "\(dir)-out", verifyCache: false, allowQuarantined: false)
                defer { try? FileManager.default.removeItem(atPath: "\(dir)-out") }
                #expect(FileManager.default.contents(atPath: "\(dir)-out/w.bin") == Data(bytes))

                // Ten moves of prod from 1 to 2, expecting 1, half through each replica: one
                // moves it, the others find it where they wanted it (applied, as a retried move
                // would), and history records one move.
                let prod = try AliasName("prod")
                let movesBefore = try await apiA.aliasHistory(model, prod).count
                let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for i in 0..<10 {
                        let api = i % 2 == 0 ? apiA : apiB
                        group.addTask {
                            do {
                                _ = try await api.setAlias(model, prod, SetAliasRequest(version: 2, expectCurrent: 1))
                                return true
                            } catch let error as VesselError where error.code == .preconditionFailed {
                                return false
                            }
                        }
                    }
                    return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(wins == 10)
                #expect(try await apiB.aliasHistory(model, prod).count == movesBefore + 1)
                #expect(try await apiA.resolve(try Reference("acme/replicated@prod")).version == 2)
                #expect(try await apiB.verifyAudit().ok)
            } catch {
                await apiA.shutdown()
                await apiB.shutdown()
                throw error
            }
            await apiA.shutdown()
            await apiB.shutdown()
        }
    }

    /// A database of its own on the test server, dropped afterwards.
    static func withDatabase(_ text: String, _ body: (String) async throws -> Void) async throws {
        let url = try PostgresURL(text)
        let name = PostgresBackend.scratchDatabaseName("vessel_r")
        let admin = try await PostgresBackend.connect(url: url, maxConnections: 2, logger: Logger(label: "test"))
        do {
            try await admin.createScratchDatabase(name)
            let scoped = "postgres://\(url.username):\(url.password ?? "")@\(url.host):\(url.port)/\(name)"
            do {
                try await body(scoped)
            } catch {
                try? await admin.dropScratchDatabase(name)
                throw error
            }
            try await admin.dropScratchDatabase(name)
        } catch {
            await admin.shutdown()
            throw error
        }
        await admin.shutdown()
    }
}
