import Foundation
import NIOCore
import Testing
import VesselCore
import VesselTestSupport
@testable import VesselStorage

/// `vessel backup`, `restore` and `fsck` (issue 34) on the stores other than the embedded
/// defaults, with the built binary against `vessel serve`: metadata in PostgreSQL (the shared
/// test server, a scratch database each) with filesystem blobs, and PostgreSQL with S3 (RGW).
@Suite(.serialized) struct BackupPostgresS3Tests {
    static func write(_ folder: String, _ files: [String: Int], seed: UInt64) throws {
        for (index, (name, count)) in files.sorted(by: { $0.key < $1.key }).enumerated() {
            try TempDir.writeFile("\(folder)/\(name)", count: count, seed: seed + UInt64(index))
        }
    }

    /// The documented PostgreSQL procedure end to end: `pg_dump` first, then `vessel backup`
    /// (blobs only, saying why); `vessel restore` refuses the blob-only backup; `pg_restore` into
    /// a new database plus the backup's `blobs/` folder serve every version byte-identical, and
    /// fsck and the audit chain are clean.
    @Test(.enabled(if: VesselExecutable.path != nil && TwoReplicaTests.postgresURL != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/pg_dump"),
                   "needs the vessel executable, VESSEL_TEST_POSTGRES_URL and pg_dump/pg_restore"))
    func postgresMetadataWithFilesystemBlobs() async throws {
        guard let pg = TwoReplicaTests.postgresURL else { return }
        try await TwoReplicaTests.withDatabase(pg) { url in
            try await TwoReplicaTests.withDatabase(pg) { restoredURL in
                let server = try await ServeProcess(arguments: ["--database", url])
                defer { server.stop() }
                let a = TempDir.make("vessel-pgbk-a"), b = TempDir.make("vessel-pgbk-b")
                try Self.write(a, ["weights.bin": 300_000, "config.json": 400], seed: 10)
                try FileManager.default.copyItem(atPath: "\(a)/weights.bin", toPath: "\(b)/weights.bin")
                try Self.write(b, ["extra.bin": 100_000], seed: 20)
                for (folder, model) in [(a, "acme/a"), (b, "acme/b")] {
                    let push = try await CLI.run(["push", folder, "--model", model, "--alias", "staging"], environment: server.env)
                    #expect(push.status == 0, "\(push.stderr)")
                }

                let work = TempDir.make("vessel-pgbk-work")
                let dump = try await runProcess("/usr/bin/pg_dump", ["--format=custom", "--file=\(work)/vessel.dump", url], timeLimit: .seconds(120))
                #expect(dump.status == 0, "\(dump.stderr)")
                let backupDir = "\(work)/backup"
                let backup = try await CLI.run(["backup", "--to", backupDir, "--json"], environment: server.env)
                #expect(backup.status == 0, "\(backup.stdout) \(backup.stderr)")
                let manifest = try backup.json()
                #expect(manifest["metadata_included"] as? Bool == false && manifest["blobs_included"] as? Bool == true)
                #expect((manifest["notes"] as? [String])?.contains { $0.contains("pg_dump") } == true, "\(manifest)")
                #expect((manifest["missing_blobs"] as? [Any])?.isEmpty == true && manifest["blobs_copied"] as? Int == 3)
                #expect(!FileManager.default.fileExists(atPath: "\(backupDir)/metadata.sqlite"))

                let refused = try await CLI.run(["restore", "--from", backupDir, "--data-dir", "\(work)/refused", "--json"])
                #expect(refused.status == 2, "\(refused.stdout)")
                #expect(try refused.errorCode() == "invalid_argument")

                let restore = try await runProcess("/usr/bin/pg_restore", ["--no-owner", "--dbname=\(restoredURL)", "\(work)/vessel.dump"], timeLimit: .seconds(120))
                #expect(restore.status == 0, "\(restore.stderr)")
                let newDir = "\(work)/restored"
                try FileManager.default.createDirectory(atPath: newDir, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: "\(backupDir)/blobs", toPath: "\(newDir)/blobs")
                let second = try await ServeProcess(dataDir: newDir, arguments: ["--database", restoredURL])
                defer { second.stop() }
                let fsck = try await CLI.run(["fsck", "--rehash", "--json"], environment: second.env)
                #expect(fsck.status == 0, "\(fsck.stdout) \(fsck.stderr)")
                #expect((try fsck.json()["orphans"] as? [Any])?.isEmpty == true)
                #expect(try await CLI.run(["audit", "verify"], environment: second.env).status == 0)
                for (folder, reference, files) in [(a, "acme/a@staging", ["weights.bin", "config.json"]), (b, "acme/b:1", ["weights.bin", "extra.bin"])] {
                    let target = TempDir.make("vessel-pgbk-pull") + "/out"
                    let pull = try await CLI.run(["pull", reference, target, "--cache-dir", TempDir.make("vessel-pgbk-cache"), "--json"], environment: second.env)
                    #expect(pull.status == 0, "\(reference): \(pull.stderr)")
                    for file in files {
                        #expect(FileManager.default.contentsEqual(atPath: "\(folder)/\(file)", andPath: "\(target)/\(file)"), "\(reference) \(file)")
                    }
                }
            }
        }
    }

    /// PostgreSQL and S3: `vessel backup` has nothing to copy and says where to look (exit 2);
    /// fsck, through the server and on the stores directly, finds an object deleted from the
    /// bucket, a damaged object (with `--rehash`, naming both versions holding it) and an object
    /// no row names, and `--quarantine-damaged` stops their pulls.
    @Test(.enabled(if: VesselExecutable.path != nil && TwoReplicaTests.postgresURL != nil && S3ServeTests.s3 != nil,
                   "needs the vessel executable, VESSEL_TEST_POSTGRES_URL and a real S3 server"))
    func postgresMetadataWithS3Blobs() async throws {
        guard let pg = TwoReplicaTests.postgresURL, let s3 = S3ServeTests.s3 else { return }
        let storage = try S3ServeTests.isolatedURL(s3.url)
        let location = try S3Location(parsing: storage)
        let credentials = ["AWS_ACCESS_KEY_ID": s3.access, "AWS_SECRET_ACCESS_KEY": s3.secret]
        let (probe, _) = try await S3BlobStore.open(location, credentials: S3Credentials(accessKey: s3.access, secretKey: s3.secret))
        do {
            try await TwoReplicaTests.withDatabase(pg) { url in
                let server = try await ServeProcess(arguments: ["--database", url, "--storage", storage], environment: credentials)
                defer { server.stop() }
                let env = server.env
                let a = TempDir.make("vessel-s3bk-a"), b = TempDir.make("vessel-s3bk-b"), c = TempDir.make("vessel-s3bk-c")
                try Self.write(a, ["weights.bin": 200_000, "config.json": 300], seed: 30)
                try FileManager.default.copyItem(atPath: "\(a)/weights.bin", toPath: "\(b)/weights.bin")
                try Self.write(b, ["extra.bin": 50_000], seed: 40)
                try Self.write(c, ["lone.bin": 20_000], seed: 50)
                for (folder, model) in [(a, "acme/a"), (b, "acme/b"), (c, "acme/c")] {
                    let push = try await CLI.run(["push", folder, "--model", model, "--alias", "staging"], environment: env)
                    #expect(push.status == 0, "\(push.stderr)")
                }

                let backup = try await CLI.run(["backup", "--to", TempDir.make("vessel-s3bk-backup"), "--json"], environment: env)
                #expect(backup.status == 2, "\(backup.stdout)")
                #expect(try backup.errorCode() == "invalid_argument")
                #expect(backup.stdout.contains("pg_dump") && backup.stdout.contains("bucket versioning"), "\(backup.stdout)")

                let clean = try await CLI.run(["fsck", "--rehash", "--json"], environment: env)
                #expect(clean.status == 0, "\(clean.stdout) \(clean.stderr)")

                // Damage the shared weights (a changed byte, same size), delete the lone blob, and
                // put an object no row names.
                let weights = try Data(contentsOf: URL(fileURLWithPath: "\(a)/weights.bin"))
                var damaged = Array(weights)
                damaged[12_345] ^= 0x10
                let weightsDigest = APIHarness.digest(Array(weights))
                try await probe.client.putObject(probe.blobKey(weightsDigest), body: ByteBuffer(bytes: damaged), sha256Hex: APIHarness.digest(damaged).hex)
                let lone = Array(try Data(contentsOf: URL(fileURLWithPath: "\(c)/lone.bin")))
                try await probe.client.deleteObject(probe.blobKey(APIHarness.digest(lone)))
                let stray = Array("an object no row names\n".utf8)
                try await probe.client.putObject(probe.blobKey(APIHarness.digest(stray)), body: ByteBuffer(bytes: stray), sha256Hex: APIHarness.digest(stray).hex)

                let quick = try await CLI.run(["fsck", "--json"], environment: env)
                #expect(quick.status == 1, "\(quick.stdout)")
                #expect(Set(try BackupPostgresS3Tests.findings(quick)) == ["acme/c:1 lone.bin missing"])
                #expect((try quick.json()["orphans"] as? [[String: Any]])?.map { $0["digest"] as? String } == [APIHarness.digest(stray).description])
                let expected: Set<String> = ["acme/a:1 weights.bin digest_mismatch", "acme/b:1 weights.bin digest_mismatch", "acme/c:1 lone.bin missing"]
                let direct = ["fsck", "--data-dir", TempDir.make("vessel-s3bk-direct"), "--database", url, "--storage", storage, "--rehash", "--json"]
                for (arguments, environment) in [(["fsck", "--rehash", "--json"], env), (direct, credentials)] {
                    let full = try await CLI.run(arguments, environment: environment)
                    #expect(full.status == 1, "\(arguments): \(full.stdout) \(full.stderr)")
                    #expect(Set(try BackupPostgresS3Tests.findings(full)) == expected, "\(arguments): \(full.stdout)")
                }

                let quarantine = try await CLI.run(["fsck", "--rehash", "--quarantine-damaged", "--json"], environment: env)
                #expect(quarantine.status == 1)
                #expect(Set(try quarantine.json()["quarantined"] as? [String] ?? []) == ["acme/a:1", "acme/b:1", "acme/c:1"])
                for reference in ["acme/a@staging", "acme/b:1", "acme/c:1"] {
                    let pull = try await CLI.run(["pull", reference, TempDir.make("vessel-s3bk-pull") + "/out", "--cache-dir", TempDir.make("vessel-s3bk-cache"), "--json"], environment: env)
                    #expect(pull.status == 1, "\(reference): \(pull.stdout)")
                    #expect(try pull.errorCode() == "quarantined")
                }
                #expect(try await CLI.run(["audit", "verify"], environment: env).status == 0)
            }
        } catch {
            await Self.empty(probe, location)
            throw error
        }
        await Self.empty(probe, location)
    }

    static func empty(_ probe: S3BlobStore, _ location: S3Location) async {
        for version in (try? await probe.client.listObjectVersions(prefix: location.key(""))) ?? [] {
            try? await probe.client.deleteObject(version.key, versionID: version.versionID)
        }
        await probe.shutdown()
    }

    /// `model:version path problem` of each finding.
    static func findings(_ result: ProcessResult) throws -> [String] {
        try (result.json()["findings"] as? [[String: Any]] ?? []).map {
            "\($0["model"] as? String ?? ""):\($0["version"] as? Int ?? 0) \($0["path"] as? String ?? "") \($0["problem"] as? String ?? "")"
        }
    }
}
