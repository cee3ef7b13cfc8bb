import Crypto
import Foundation
import Testing
import VesselCore
@testable import VesselClient
@testable import VesselServer
@testable import VesselStorage

/// The real client against a live in-process server: resumable uploads cut by dropped
/// connections, downloads cut mid-file, and push/pull through sessions.
@Suite struct ClientTransferTests {
    @Test func uploadCutSeveralTimesResumesToAnIdenticalBlob() async throws {
        let bytes = UploadSessionAPITests.payload(mebibytes: 64)
        let digest = APIHarness.digest(bytes)
        try await LiveHarness.with { live in
            let model = try ModelName("acme/big")
            let path = "\(try live.folder("src", ["big.bin": bytes]))/big.bin"
            let uploader = ChunkedUploader(api: live.api)
            // Three times: start (or continue) the upload, and drop it once the server holds
            // a few more chunks — the client is cancelled mid-chunk, as a killed client would be.
            var stored = 0
            for _ in 0..<3 {
                let target = stored + 10
                let task = Task { try await uploader.upload(model: model, digest: digest, size: UInt64(bytes.count), path: path) }
                var session: UploadSessionInfo
                repeat {
                    try await Task.sleep(for: .milliseconds(5))
                    session = try await live.api.startUpload(model, digest: digest, size: UInt64(bytes.count))
                } while session.received.count < target
                task.cancel()
                _ = await task.result
                session = try await live.api.startUpload(model, digest: digest, size: UInt64(bytes.count))
                #expect(session.received.count >= target && session.received.count < 64, "\(session.received.count)")
                stored = session.received.count
            }
            let sent = try await uploader.upload(model: model, digest: digest, size: UInt64(bytes.count), path: path)
            #expect(sent > 0 && sent <= UInt64(bytes.count - stored << 20), "sent \(sent) after \(stored) chunks were stored")
            #expect(try await live.registry.store.blobSize(digest) == UInt64(bytes.count))
            var hasher = SHA256()
            for try await buffer in try await live.registry.blobs.read(digest, range: nil) {
                buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            }
            #expect(VesselCore.Digest(bytes: hasher.finalize()) == digest)
            // Once stored, uploading again sends nothing.
            #expect(try await uploader.upload(model: model, digest: digest, size: UInt64(bytes.count), path: path) == 0)
        }
    }

    @Test func downloadCutMidFileResumesToIdenticalBytes() async throws {
        let bytes = UploadSessionAPITests.payload(mebibytes: 6)
        let digest = APIHarness.digest(bytes)
        try await LiveHarness.with(blobs: { CuttingBlobStore($0, cutAfter: []) }) { live in
            let model = try ModelName("acme/dl")
            let src = try live.folder("src", ["w.bin": bytes])
            _ = try await Pusher(api: live.api).push(folder: src, model: model, alias: nil, description: nil)
            let store = try #require(live.registry.blobs as? CuttingBlobStore)
            // The next two downloads of the blob drop after 2.5 MiB and after 1 MiB more.
            store.cuts.withLock { $0 = [5 << 19, 1 << 20] }
            let before = store.reads.load(ordering: .relaxed)
            let cache = try BlobCache(root: "\(live.dir)/cache")
            let (path, transferred) = try await Downloader(api: live.api, cache: cache, progress: nil).fetch(model: model, digest: digest, size: UInt64(bytes.count))
            #expect(store.reads.load(ordering: .relaxed) - before == 3)
            #expect(transferred == UInt64(bytes.count), "each attempt continued where the last one stopped")
            #expect(FileManager.default.contents(atPath: path) == Data(bytes))
            #expect(!FileManager.default.fileExists(atPath: cache.partialPath(of: digest)))
        }
    }

    @Test func partedDownloadCutSeveralTimesResumesOnlyWhatIsMissing() async throws {
        let bytes = UploadSessionAPITests.payload(mebibytes: 6)
        let digest = APIHarness.digest(bytes)
        try await LiveHarness.with(blobs: { CuttingBlobStore($0, cutAfter: []) }) { live in
            let model = try ModelName("acme/parts")
            let src = try live.folder("src", ["w.bin": bytes])
            _ = try await Pusher(api: live.api).push(folder: src, model: model, alias: nil, description: nil)
            let store = try #require(live.registry.blobs as? CuttingBlobStore)
            // Six 1 MiB parts over three connections; three of the ranged reads drop part-way.
            store.cuts.withLock { $0 = [300_000, 700_000, 1 << 19] }
            let before = store.reads.load(ordering: .relaxed)
            let cache = try BlobCache(root: "\(live.dir)/cache")
            var downloader = Downloader(api: live.api, cache: cache, progress: nil)
            downloader.streams = 3
            downloader.partSize = 1 << 20
            let (path, transferred) = try await downloader.fetch(model: model, digest: digest, size: UInt64(bytes.count))
            #expect(store.reads.load(ordering: .relaxed) - before > 6, "cut parts were asked for again")
            #expect(transferred == UInt64(bytes.count), "no byte was fetched twice")
            #expect(FileManager.default.contents(atPath: path) == Data(bytes))
            #expect(!FileManager.default.fileExists(atPath: cache.partialPath(of: digest)))
            #expect(!FileManager.default.fileExists(atPath: cache.partialPath(of: digest) + ".parts"))
        }
    }

    @Test func aJournalFromAnEarlierPartedDownloadIsHonouredAndWrongBytesAreDiscarded() async throws {
        let bytes = UploadSessionAPITests.payload(mebibytes: 3)
        let digest = APIHarness.digest(bytes)
        try await LiveHarness.with { live in
            let model = try ModelName("acme/journal")
            let src = try live.folder("src", ["w.bin": bytes])
            _ = try await Pusher(api: live.api).push(folder: src, model: model, alias: nil, description: nil)
            let cache = try BlobCache(root: "\(live.dir)/cache")
            let partial = cache.partialPath(of: digest)
            // An interrupted parted download left the middle MiB (and a hole before it).
            var left = [UInt8](repeating: 0, count: 2 << 20)
            left.replaceSubrange((1 << 20)..<(2 << 20), with: bytes[(1 << 20)..<(2 << 20)])
            #expect(FileManager.default.createFile(atPath: partial, contents: Data(left)))
            try PartJournal(path: partial + ".parts").write([(1 << 20)..<(2 << 20)])
            let downloader = Downloader(api: live.api, cache: cache, progress: nil)  // one stream
            let (path, transferred) = try await downloader.fetch(model: model, digest: digest, size: UInt64(bytes.count))
            #expect(transferred == UInt64(bytes.count - (1 << 20)), "the recorded MiB was not fetched again")
            #expect(FileManager.default.contents(atPath: path) == Data(bytes))

            // A journal that vouches for bytes that are not the blob's: the digest check
            // discards the partial file and the journal, and the next pull starts clean.
            try FileManager.default.removeItem(atPath: path)
            #expect(FileManager.default.createFile(atPath: partial, contents: Data(repeating: 7, count: bytes.count)))
            try PartJournal(path: partial + ".parts").write([0..<UInt64(bytes.count)])
            do {
                _ = try await downloader.fetch(model: model, digest: digest, size: UInt64(bytes.count))
                Issue.record("wrong bytes were accepted")
            } catch let error as VesselError {
                #expect(error.code == .digestMismatch)
            }
            #expect(!FileManager.default.fileExists(atPath: partial) && !FileManager.default.fileExists(atPath: partial + ".parts"))
            let (again, _) = try await downloader.fetch(model: model, digest: digest, size: UInt64(bytes.count))
            #expect(FileManager.default.contents(atPath: again) == Data(bytes))

            // A journal that cannot be read (cut mid-write, edited) vouches for nothing: the
            // partial file, holes and all, is fetched again from the start.
            try FileManager.default.removeItem(atPath: again)
            #expect(FileManager.default.createFile(atPath: partial, contents: Data(repeating: 7, count: bytes.count)))
            #expect(FileManager.default.createFile(atPath: partial + ".parts", contents: Data("0 9999999999\nnot a range\n".utf8)))
            let (fresh, fetched) = try await downloader.fetch(model: model, digest: digest, size: UInt64(bytes.count))
            #expect(fetched == UInt64(bytes.count))
            #expect(FileManager.default.contents(atPath: fresh) == Data(bytes))
        }
    }

    @Test func pushUsesSessionsForLargeFilesAndPullsBackIdentically() async throws {
        let big = UploadSessionAPITests.payload(mebibytes: 5)
        let small: [UInt8] = Array("{\"arch\": \"demo\"}".utf8)
        try await LiveHarness.with { live in
            let model = try ModelName("acme/mixed")
            let src = try live.folder("src", ["weights/model.bin": big, "config.json": small, "empty": []])
            var pusher = Pusher(api: live.api)
            pusher.chunkedThreshold = 1 << 20
            let pushed = try await pusher.push(folder: src, model: model, alias: try AliasName("staging"), description: nil)
            #expect(pushed.state == .ready && pushed.files == 3)
            #expect(pushed.bytesUploaded == UInt64(big.count + small.count))
            #expect(live.registry.metrics.registry.value(ServerMetrics.uploadsCompleted) == 1)
            let cache = try BlobCache(root: "\(live.dir)/cache")
            let pulled = try await Puller(api: live.api, cache: cache).pull(try Reference("acme/mixed@staging"), into: "\(live.dir)/out", verifyCache: false, allowQuarantined: false)
            #expect(pulled.bytesDownloaded == UInt64(big.count + small.count))
            #expect(FileManager.default.contents(atPath: "\(live.dir)/out/weights/model.bin") == Data(big))
            let again = try await Puller(api: live.api, cache: cache).pull(try Reference("acme/mixed@staging"), into: "\(live.dir)/out", verifyCache: false, allowQuarantined: false)
            #expect(again.bytesDownloaded == 0)
        }
    }

    @Test func largeFilesUploadWhileOthersHashAndNothingGoesUpTwice() async throws {
        let big = UploadSessionAPITests.payload(mebibytes: 3)
        let other = UploadSessionAPITests.payload(mebibytes: 2).reversed()
        let small: [UInt8] = Array("{\"arch\": \"demo\"}".utf8)
        try await LiveHarness.with { live in
            let model = try ModelName("acme/overlap")
            // The same large bytes under two names, another large file, a small one.
            let src = try live.folder("src", ["a.bin": big, "copy/a.bin": big, "b.bin": Array(other), "config.json": small])
            var pusher = Pusher(api: live.api)
            pusher.chunkedThreshold = 1 << 20
            let pushed = try await pusher.push(folder: src, model: model, alias: nil, description: nil)
            #expect(pushed.state == .ready && pushed.files == 4)
            #expect(pushed.bytesUploaded == UInt64(big.count + other.count + small.count), "each distinct blob once")
            #expect(live.registry.metrics.registry.value(ServerMetrics.uploadsCompleted) == 2)
            // Pushed again: every blob is there, so nothing is sent, though the big ones start before the draft.
            let again = try await pusher.push(folder: src, model: model, alias: nil, description: nil)
            #expect(again.bytesUploaded == 0 && again.digest == pushed.digest)
        }
    }
}

