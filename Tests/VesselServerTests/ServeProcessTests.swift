import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import VesselCore
import VesselTestSupport
@testable import VesselClient

/// A real `vessel serve` killed with SIGKILL in the middle of a chunk (part of it already in
/// the session's file), restarted on the same data directory, and the upload session
/// continued from the chunks stored before the crash.
@Suite(.serialized) struct ServeProcessTests {
    @Test(.enabled(if: VesselExecutable.path != nil, "needs the vessel executable built next to the tests"))
    func sigkillMidChunkThenRestartResumesTheSession() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-kill-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: dir)
            try? FileManager.default.removeItem(atPath: "\(dir).log")
        }
        // Chunks of 2 MiB: larger than the 1 MiB block the server stages a chunk's bytes in
        // before writing them (`DirectFileWriter`), so part of a chunk can reach the file.
        let bytes = UploadSessionAPITests.payload(mebibytes: 16)
        let digest = APIHarness.digest(bytes)
        let size = UInt64(bytes.count)
        try FileManager.default.createDirectory(atPath: "\(dir)-src", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: "\(dir)-src") }
        let file = "\(dir)-src/big.bin"
        _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
        let model = try ModelName("acme/crash")

        let first = try await ServeProcess(dataDir: dir, arguments: ["--upload-chunk-size", "2MiB"])
        let api = first.client()
        let session: UploadSessionInfo
        do {
            session = try await api.startUpload(model, digest: digest, size: size)
            #expect(session.chunkSize == 2 << 20 && session.chunks == 8)
            for index in 0..<4 {
                _ = try await api.putChunk(model, id: session.uploadId, index: index, path: file, offset: UInt64(index << 21), length: 2 << 20)
            }
            // Chunk 4: send three quarters of it, then kill the server while the request is
            // open, once its first bytes are in `data` (grown past chunks 0–3).
            var request = api.request(.PUT, "\(model.apiPath)/uploads/\(session.uploadId)/chunks/4")
            let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
            request.body = .stream(stream, length: .known(Int64(2 << 20)))
            continuation.yield(ByteBuffer(bytes: bytes[(8 << 20)..<((8 << 20) + (3 << 19))]))
            let inFlight = Task { [request] in try await api.send(request) }
            let data = "\(dir)/blobs/uploads/\(session.uploadId)/data"
            let deadline = ContinuousClock.now + .seconds(60)
            var reached = false
            while !reached, ContinuousClock.now < deadline {
                reached = ((try? FileManager.default.attributesOfItem(atPath: data))?[.size] as? Int ?? 0) > 8 << 20
                if !reached { try? await Task.sleep(for: .milliseconds(10)) }
            }
            first.kill()
            continuation.finish()
            #expect(reached, "chunk 4's bytes did not reach \(data) within 60 s")
            let cut = await inFlight.result
            #expect(throws: (any Error).self) { try cut.get() }
        } catch {
            first.stop()
            await api.shutdown()
            throw error
        }
        await api.shutdown()

        let second = try await ServeProcess(dataDir: dir, arguments: ["--upload-chunk-size", "2MiB"])
        defer { second.stop() }
        let resumedAPI = second.client()
        do {
            let status = try await resumedAPI.uploadStatus(model, id: session.uploadId)
            #expect(status.received == [0, 1, 2, 3] && status.nextChunk == 4)
            let sent = try await ChunkedUploader(api: resumedAPI).upload(model: model, digest: digest, size: size, path: file)
            #expect(sent == 8 << 20)
            await #expect(throws: VesselError.self) { _ = try await resumedAPI.startUpload(model, digest: digest, size: size) }
            let stored = "\(dir)/blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex)"
            #expect(FileManager.default.contents(atPath: stored) == Data(bytes))
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/blobs/uploads")) ?? ["?"]).isEmpty)
        } catch {
            await resumedAPI.shutdown()
            throw error
        }
        await resumedAPI.shutdown()
    }
}
