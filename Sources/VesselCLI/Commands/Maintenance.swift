import ArgumentParser
import Foundation
import VesselClient
import VesselCore
import VesselServer

/// `vessel fsck`: checks a registry's blobs against its metadata, and its audit chain.
struct FsckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Check every version's blobs (present, right size; --rehash: right digest), list orphans and expired drafts, verify the audit chain.",
        discussion: "Admin. Exit 0 clean, 1 with findings, 2 when the store cannot be read. Against --server, or a --data-dir directly (also while it is served)."
    )
    @Flag(help: "Re-hash every stored blob (reads every byte, in parallel).") var rehash = false
    @Option(help: "Blobs hashed at once (default: one per core).") var jobs: Int?
    @Flag(help: "Mark versions holding a damaged or missing blob quarantined (audited), so pulls refuse them.") var quarantineDamaged = false
    @OptionGroup var store: DataDirOptions
    @OptionGroup var client: ClientOptions

    func validate() throws {
        if let jobs, jobs < 1 || jobs > 256 { throw ValidationError("--jobs must be between 1 and 256") }
    }

    func run() async throws {
        try await Output.run(json: client.json) {
            let request = FsckRequest(rehash: rehash, jobs: jobs, quarantineDamaged: quarantineDamaged)
            let report: FsckReport
            if let dataDir = store.dataDir {
                let options = store.serverOptions(dataDir)
                let progress = TransferProgress()
                report = try await ProgressDisplay.run(progress, enabled: !client.json) {
                    try await Unreadable.map {
                        let directory = try await DataDirectory.open(options, logger: DataDirOptions.logger)
                        do {
                            let fsck = Fsck(store: directory.store, blobs: directory.blobs, draftLifetime: Int64(options.uploadSessionTTL.components.seconds) * 1_000_000)
                            let report = try await fsck.run(request, actor: DataDirOptions.offlineActor, requestID: nil,
                                                            progress: MaintenanceProgress(begin: { progress.begin($0, total: $1) }, add: { progress.add($0) }))
                            await directory.close()
                            return report
                        } catch {
                            await directory.close()
                            throw error
                        }
                    }
                }
            } else {
                report = try await client.withClient { try await $0.fsck(request) }
            }
            if client.json { Output.json(report) } else { Self.print(report) }
            if !report.ok { throw ExitCode(1) }
        }
    }

    static func print(_ report: FsckReport) {
        for finding in report.findings {
            Output.line("\(finding.model):\(finding.version)  \(finding.path)  \(finding.digest)  \(finding.problem): \(finding.detail)\(finding.state == "quarantined" ? "  [quarantined]" : "")")
        }
        if !report.audit.ok { Output.line("audit chain broken at entry \(report.audit.brokenAt ?? 0): \(report.audit.reason ?? "")") }
        for orphan in report.orphans ?? [] {
            Output.line("orphan  \(orphan.digest)  \(Output.bytes(orphan.size))\(orphan.problem.map { "  \($0)" } ?? "")")
        }
        for draft in report.expiredDrafts { Output.line("expired draft  \(draft.model)  \(draft.draftID)  created \(draft.createdAt)") }
        for session in report.expiredUploadSessions { Output.line("expired upload session  \(session.model)  \(session.id)  expired \(session.expiresAt)") }
        let hashed = report.rehashed ? ", \(Output.bytes(report.bytesHashed)) re-hashed" : ""
        Output.line("\(report.ok ? "clean" : "FINDINGS"): \(report.versions) versions, \(report.files) files, \(report.blobs) blobs\(hashed); \(report.findings.count) finding(s), \(report.quarantined.count) quarantined, \(report.orphans.map { String($0.count) } ?? "unlisted") orphan(s); audit chain \(report.audit.ok ? "intact (\(report.audit.entries) entries)" : "BROKEN")")
    }
}

/// `vessel backup --to DIR`: a consistent online copy of the metadata and the blobs it names.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy a registry while it serves: a consistent metadata snapshot and, incrementally, every blob it records.",
        discussion: "Admin. Without --data-dir the server writes DIR on its own machine (an absolute path). Exit 1 when a recorded blob could not be copied. docs/backup.md."
    )
    @Option(help: "The backup directory: new, empty, or an earlier backup (then only new blobs are copied).") var to: String
    @OptionGroup var store: DataDirOptions
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let report: BackupReport
            if let dataDir = store.dataDir {
                let options = store.serverOptions(dataDir)
                let target = URL(fileURLWithPath: to).standardizedFileURL.path
                let progress = TransferProgress()
                report = try await ProgressDisplay.run(progress, enabled: !client.json) {
                    let directory = try await DataDirectory.open(options, logger: DataDirOptions.logger)
                    do {
                        let backup = Backup(store: directory.store, blobs: directory.blobs, sqliteDataDir: directory.onSQLite ? dataDir : nil,
                                            holder: DataDirOptions.offlineActor, logger: DataDirOptions.logger)
                        let report = try await backup.run(to: target, progress: MaintenanceProgress(begin: { progress.begin($0, total: $1) }, add: { progress.add($0) }))
                        await directory.close()
                        return report
                    } catch {
                        await directory.close()
                        throw error
                    }
                }
            } else {
                guard to.hasPrefix("/") else { throw VesselError.invalidArgument("--to must be an absolute path on the server's machine (or give --data-dir to back up a local data directory)") }
                report = try await client.withClient { try await $0.backup(to: to) }
            }
            if client.json { Output.json(report) } else {
                for note in report.notes { Output.diagnostic("note: \(note)") }
                for missing in report.missingBlobs { Output.line("not copied: \(missing)") }
                Output.line("backup of \(report.snapshotAt) in \(report.directory): \(report.versions) versions, \(report.blobs) blobs (\(Output.bytes(report.blobBytes))); copied \(report.blobsCopied) (\(Output.bytes(report.bytesCopied))); audit head \(report.auditSeq)")
            }
            if !report.missingBlobs.isEmpty { throw ExitCode(1) }
        }
    }
}

/// `vessel restore --from DIR --data-dir NEW`.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup into a new data directory, checking every blob's digest, then the audit chain.",
        discussion: "Exit 0 restored and verified, 1 with findings, 5 when --data-dir is not empty. Then: vessel serve --data-dir NEW."
    )
    @Option(help: "The backup directory (made by vessel backup).") var from: String
    @Option(help: "The new data directory (must not exist or be empty).") var dataDir: String
    @Flag(help: "Print machine-readable JSON on stdout.") var json = false

    func run() async throws {
        try await Output.run(json: json) {
            let progress = TransferProgress()
            let report = try await ProgressDisplay.run(progress, enabled: !json) {
                try await Restore.run(from: from, dataDir: dataDir, logger: DataDirOptions.logger,
                                      progress: MaintenanceProgress(begin: { progress.begin($0, total: $1) }, add: { progress.add($0) }))
            }
            if json { Output.json(report) } else {
                for finding in report.findings {
                    Output.line("\(finding.model):\(finding.version)  \(finding.path)  \(finding.digest)  \(finding.problem): \(finding.detail)")
                }
                Output.line("restored the backup of \(report.snapshotAt) into \(report.dataDir): \(report.blobs) blobs (\(Output.bytes(report.bytes))) verified; audit chain \(report.audit.ok ? "intact (\(report.audit.entries) entries)" : "BROKEN: \(report.audit.reason ?? "")")")
            }
            if !report.findings.isEmpty || !report.audit.ok { throw ExitCode(1) }
        }
    }
}

/// Offline fsck: a store that cannot be opened or read is "unreadable input" (exit 2).
enum Unreadable {
    static func map<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as VesselError {
            throw VesselError(.invalidArgument, "cannot read the store: \(error.message)")
        }
    }
}
