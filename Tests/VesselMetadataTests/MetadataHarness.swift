import Foundation
import Logging
import SQLKit
import VesselCore
@testable import VesselMetadata

/// A fresh metadata store on each backend under test. SQLite always; PostgreSQL joins when
/// `VESSEL_TEST_POSTGRES_URL` is set (scripts/test starts one with scripts/services.sh), each
/// test on a database of its own that is dropped afterwards.
enum MetadataHarness {
    static let postgresURL = ProcessInfo.processInfo.environment["VESSEL_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let backends = ["sqlite"] + (postgresURL == nil ? [] : ["postgresql"])

    static func withStore(_ backend: String, _ body: (SQLMetadataStore, any SQLBackend) async throws -> Void) async throws {
        let logger = Logger(label: "test")
        if backend == "postgresql", let url = postgresURL {
            try await PostgresTestDatabase.with(url: url, logger: logger) { sql in
                try await Migrations.run(on: sql, logger: logger)
                try await body(SQLMetadataStore(backend: sql), sql)
            }
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-meta-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sql = try await SQLiteBackend.open(path: "\(dir)/metadata.sqlite", logger: logger)
        let deliveries = try await SQLiteBackend.open(path: "\(dir)/deliveries.sqlite", readers: 1, logger: logger)
        try await closing([deliveries, sql]) {
            try await Migrations.run(on: sql, logger: logger)
            // As the embedded registry keeps it: webhook delivery state in a file of its own.
            try await Migrations.runDeliveries(on: deliveries, registryPath: "\(dir)/metadata.sqlite", logger: logger)
            try await body(SQLMetadataStore(backend: sql, deliveries: deliveries), sql)
        }
    }

    /// Runs `body`, then shuts `backends` down, whether it threw or not.
    static func closing(_ backends: [any SQLBackend], _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            for backend in backends { await backend.shutdown() }
            throw error
        }
        for backend in backends { await backend.shutdown() }
    }

    static let admin = ChangeContext(actor: "admin", requestID: "req-1")

    static func digest(_ byte: UInt8) -> Digest { Digest(bytes: [UInt8](repeating: byte, count: 32)) }

    static func manifest(_ files: [(String, UInt8)]) throws -> Manifest {
        try Manifest(entries: files.map { ManifestEntry(path: $0.0, size: 10, digest: digest($0.1)) })
    }

    /// Records blobs, creates a draft and commits it.
    static func commit(_ store: SQLMetadataStore, _ model: ModelName, files: [(String, UInt8)] = [("w.safetensors", 1)], findings: [Finding] = []) async throws -> VersionInfo {
        let manifest = try manifest(files)
        for entry in manifest.entries { try await store.recordBlob(entry.digest, size: entry.size) }
        let draft = try await store.createDraft(model: model, manifest: manifest, digest: digest(99), description: "", change: admin)
        return try await store.commitDraft(model: model, draftID: draft, findings: findings, analysis: VersionAnalysis(), change: admin)
    }

    /// Moves an alias as `PUT …/aliases/:alias` does: through the governed promotion path, as
    /// an admin (the store has no other way to move one).
    @discardableResult
    static func setAlias(_ store: SQLMetadataStore, _ model: ModelName, _ alias: String, _ version: Int,
                         expectCurrent: Int? = nil, expectAbsent: Bool = false) async throws -> PromotionResult {
        let attempt = PromotionAttempt(model: model, alias: try AliasName(alias), version: version, expectCurrent: expectCurrent,
                                       expectAbsent: expectAbsent, mode: .set, role: .admin)
        return try await store.promote(attempt, change: admin)
    }

    /// Removes an alias as `DELETE …/aliases/:alias` does.
    @discardableResult
    static func removeAlias(_ store: SQLMetadataStore, _ model: ModelName, _ alias: String) async throws -> PromotionResult {
        try await store.promote(PromotionAttempt(model: model, alias: try AliasName(alias), version: 0, mode: .remove, role: .admin), change: admin)
    }
}

func expectCode(_ code: ErrorCode, _ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async {
    do {
        try await body()
        Issue.record("expected \(code.rawValue), but nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as VesselError {
        #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
}

import Testing
