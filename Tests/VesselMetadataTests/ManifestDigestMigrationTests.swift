import Foundation
import Logging
import SQLKit
import Testing
import VesselCore
@testable import VesselMetadata

/// Migration 10 (issue 21, item 5; decision 0013): versions written before it get the manifest
/// digest of their stored files, and each existing check row that of the version its
/// `check.report` audit entry names, else of the oldest committed, non-deleted version of its
/// model with the row's digest, so a version that shares only the digest (same blobs, other
/// names) does not inherit it.
@Suite struct ManifestDigestMigrationTests {
    static let a = Digest(bytes: [UInt8](repeating: 0xaa, count: 32))
    static let b = Digest(bytes: [UInt8](repeating: 0xbb, count: 32))
    static let first = [("config.json", a), ("rejected/config.json", b)]
    static let renamed = [("backup/config.json", a), ("config.json", b)]

    static func insertVersion(_ db: any SQLDatabase, id: String, number: Int?, state: String, files: [(String, Digest)]) async throws {
        try await db.raw("""
            INSERT INTO versions (id, model_id, number, state, digest, file_count, total_size, description, findings, created_at, created_by, committed_at)
            VALUES (\(bind: id), 'm1', \(bind: number), \(bind: state), 'sha256:root', \(bind: files.count), 2, '', '[]', 1, 'dev', 1)
            """).run()
        for (path, digest) in files {
            try await db.raw("""
                INSERT INTO version_files (version_id, path, size, digest, media_type) VALUES (\(bind: id), \(bind: path), 1, \(bind: digest.description), 'application/json')
                """).run()
        }
    }

    static func manifestDigest(_ files: [(String, Digest)]) throws -> String {
        try Manifest(entries: files.map { ManifestEntry(path: $0.0, size: 1, digest: $0.1, mediaType: "application/json") }).manifestDigest.description
    }

    @Test func existingChecksFollowTheVersionTheyWereReportedOn() async throws {
        let logger = Logger(label: "test")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-meta-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sql = try await SQLiteBackend.open(path: "\(dir)/metadata.sqlite", logger: logger)
        try await MetadataHarness.closing([sql]) {
            try await sql.withMigrationLock { db in try await Migrations.apply(Array(Migrations.steps.prefix(9)), to: db, logger: logger) }
            try await sql.transaction { db in
                try await db.raw("INSERT INTO models (id, owner, name, description, tags, created_at, created_by, version_seq) VALUES ('m1', 'acme', 'm', '', '[]', 1, 'dev', 3)").run()
                // v1 was deleted; v2 and v3 share its digest, v2 under other names, v3 as v1.
                try await Self.insertVersion(db, id: "v1", number: 1, state: "deleted", files: Self.first)
                try await Self.insertVersion(db, id: "v2", number: 2, state: "ready", files: Self.renamed)
                try await Self.insertVersion(db, id: "v3", number: 3, state: "ready", files: Self.first)
                try await Self.insertVersion(db, id: "d", number: nil, state: "pending", files: Self.first)
                try await db.raw("""
                    INSERT INTO checks (id, digest, model_id, name, status, metrics, url, reported_by, reported_at, seq) VALUES
                      ('c1', 'sha256:root', 'm1', 'eval', 'passed', '{}', NULL, 'qa', 5, 5),
                      ('c2', 'sha256:gone', 'm1', 'eval', 'passed', '{}', NULL, 'qa', 6, 6),
                      ('c3', 'sha256:root', 'm1', 'eval', 'passed', '{}', NULL, 'qa', 7, 7)
                    """).run()
                // c1 was reported on v1, as its audit entry says; c3 has none.
                try await db.raw("""
                    INSERT INTO audit_log (seq, at, actor, action, target, model, before_value, after_value, request_id, reason, prev_hash, hash)
                    VALUES (1, 5, 'qa', 'check.report', 'version/acme/m:1', 'acme/m', NULL, 'eval=passed {}', NULL, NULL, 'x', 'y')
                    """).run()
            }
            try await Migrations.run(on: sql, logger: logger)
            let (versions, checks) = try await sql.read { db in
                let versions = try await db.raw("SELECT id, manifest_digest FROM versions").all().reduce(into: [String: String]()) {
                    $0[try $1.decode(column: "id", as: String.self)] = try $1.decode(column: "manifest_digest", as: String.self)
                }
                let checks = try await db.raw("SELECT id, manifest_digest FROM checks").all().reduce(into: [String: String?]()) {
                    $0[try $1.decode(column: "id", as: String.self)] = try $1.decode(column: "manifest_digest", as: String?.self)
                }
                return (versions, checks)
            }
            #expect(versions == ["v1": try Self.manifestDigest(Self.first), "v2": try Self.manifestDigest(Self.renamed),
                                 "v3": try Self.manifestDigest(Self.first), "d": try Self.manifestDigest(Self.first)])
            // Reported on v1 (deleted since): v1's layout, which v3 shares and v2 does not.
            #expect(checks["c1"] == .some(try Self.manifestDigest(Self.first)))
            // Version unknown: the oldest non-deleted version with that digest, v2.
            #expect(checks["c3"] == .some(try Self.manifestDigest(Self.renamed)))
            // No version has that digest: the row keeps NULL and satisfies no gate.
            #expect(checks["c2"] == .some(nil))
        }
    }
}
