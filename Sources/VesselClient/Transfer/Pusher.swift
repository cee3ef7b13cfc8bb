import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VesselCore
import VesselSigning

/// What `vessel push --json` prints.
public struct PushResult: Codable, Sendable {
    public var model: ModelName
    public var version: Int
    public var digest: Digest
    public var files: Int
    public var bytesUploaded: UInt64
    public var state: VersionState
    public var alias: String?
    /// The signature attached after commit (`--sign-key`), else absent.
    public var signature: SignatureInfo?

    enum CodingKeys: String, CodingKey {
        case model, version, digest, files, state, alias, signature
        case bytesUploaded = "bytes_uploaded"
    }
}

/// Push: hash the folder in parallel, send the manifest, upload only the blobs the server
/// lacks (in parallel, streamed from disk; large files through resumable upload sessions),
/// commit; then sign the committed version when a key is given (before the alias moves, so an
/// alias gate that wants a signature sees it).
public struct Pusher: Sendable {
    let api: APIClient
    let progress: TransferProgress?
    public var parallelism = 4
    /// Files at least this large go through a resumable upload session; smaller ones in one PUT.
    public var chunkedThreshold: UInt64 = ChunkPlan.defaultChunkSize

    public init(api: APIClient, progress: TransferProgress? = nil) {
        self.api = api
        self.progress = progress
    }

    /// - Parameter lineage: the run and environment the version links (`--run`, `--requirements`, `--image`).
    public func push(folder path: String, model: ModelName, alias: AliasName?, description: String?, signingKey: (any SigningKey)? = nil,
                     lineage: VersionLineageRequest? = nil) async throws -> PushResult {
        let folder = try ModelFolder(root: path)
        guard !folder.files.isEmpty else { throw VesselError.invalidArgument("'\(path)' holds no files to push") }
        progress?.begin("hashing", total: folder.totalSize)
        let counter = progress
        let manifest = try await FileHasher.manifest(of: folder, progress: { bytes in counter?.add(bytes) })
        let draft = try await api.createDraft(model, DraftRequest(files: manifest.entries, description: description, lineage: lineage))
        let missing = Set(draft.missing)
        var uploads: [Digest: ManifestEntry] = [:]
        for entry in manifest.entries where missing.contains(entry.digest) && uploads[entry.digest] == nil {
            uploads[entry.digest] = entry
        }
        progress?.begin("uploading", total: uploads.values.reduce(UInt64(0)) { $0 + $1.size })
        // The connections are shared out: with several large files going up at once, each
        // sends its chunks one after the other, and the server hashes every chunk as it
        // arrives instead of reading it back from disk (it can only extend the hash in order).
        let large = uploads.values.filter { $0.size >= chunkedThreshold && $0.size > 0 }.count
        let chunkParallelism = max(1, parallelism / max(1, min(parallelism, large)))
        let bytes = try await withThrowingTaskGroup(of: UInt64.self) { group in
            var queue = uploads.values.sorted { $0.size > $1.size }[...]
            var sent: UInt64 = 0
            for _ in 0..<min(parallelism, queue.count) {
                let entry = queue.removeFirst()
                group.addTask { try await upload(entry, folder: folder, model: model, chunkParallelism: chunkParallelism) }
            }
            while let bytes = try await group.next() {
                sent += bytes
                if let entry = queue.popFirst() {
                    group.addTask { try await upload(entry, folder: folder, model: model, chunkParallelism: chunkParallelism) }
                }
            }
            return sent
        }
        progress?.begin("committing", total: 0)
        var version: VersionInfo
        var rounds = 0
        while true {
            do {
                version = try await api.commitDraft(model, draftID: draft.draftId)
                break
            } catch let error as VesselError where error.code == .missingBlobs && rounds < 3 {
                // A blob the draft found stored was garbage-collected before the commit: upload
                // what the server names and commit again.
                rounds += 1
                let named = Set(error.details)
                var again: [Digest: ManifestEntry] = [:]
                for entry in manifest.entries where named.contains(entry.digest.description) { again[entry.digest] = entry }
                guard !again.isEmpty else { throw error }
                for entry in again.values { _ = try await upload(entry, folder: folder, model: model, chunkParallelism: chunkParallelism) }
            }
        }
        var signature: SignatureInfo?
        if let signingKey {
            progress?.begin("signing", total: 0)
            if version.manifest == nil { version.manifest = manifest.entries }
            do {
                let bundle = try VersionSigning.bundle(for: version, key: signingKey)
                signature = try await api.addSignature(model, version: version.version, bundle: bundle)
            } catch let error as VesselError {
                throw VesselError(error.code, "\(model):\(version.version) was pushed but not signed: \(error.message); sign it with `vessel sign --model \(model):\(version.version)`", details: error.details)
            }
        }
        var aliasName: String?
        if let alias, version.state == .ready {
            aliasName = try await api.setAlias(model, alias, SetAliasRequest(version: version.version)).alias
        }
        return PushResult(model: model, version: version.version, digest: version.digest, files: version.files, bytesUploaded: bytes, state: version.state, alias: aliasName, signature: signature)
    }

    /// Uploads one blob; returns the bytes sent.
    private func upload(_ entry: ManifestEntry, folder: ModelFolder, model: ModelName, chunkParallelism: Int) async throws -> UInt64 {
        let path = "\(folder.root)/\(entry.path)"
        if entry.size >= chunkedThreshold && entry.size > 0 {
            var uploader = ChunkedUploader(api: api, progress: progress)
            uploader.parallelism = chunkParallelism
            return try await uploader.upload(model: model, digest: entry.digest, size: entry.size, path: path)
        }
        var request = api.request(.PUT, "\(model.apiPath)/blobs/\(entry.digest)")
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        let chunks = FileChunks(path: path, offset: 0, length: entry.size, progress: progress)
        request.body = .stream(chunks, length: .known(Int64(entry.size)))
        _ = try await api.send(request).body.collect(upTo: 1 << 20)
        return entry.size
    }
}
