import Foundation
import Testing
import VesselTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `vessel serve` as a process, driven by the `vessel` CLI, as a user would.
@Suite(.serialized) struct PushPullEndToEndTests {
    @Test func pushPullAndRepullTransfersNothing() async throws {
        let server = try await ServeProcess()
        let model = TempDir.make("vessel-model")
        try TempDir.writeFile("\(model)/model-00001-of-00001.bin", count: 70 << 20, seed: 1)
        try TempDir.writeFile("\(model)/tokenizer/vocab.txt", count: 10_000, seed: 2)
        try TempDir.writeFile("\(model)/tokenizer.json", count: 500, seed: 3)
        _ = FileManager.default.createFile(atPath: "\(model)/empty.txt", contents: Data())
        defer { try? FileManager.default.removeItem(atPath: model) }

        let push = try await CLI.run(["push", model, "--model", "acme/e2e", "--alias", "staging", "--json"], environment: server.env)
        #expect(push.status == 0, "\(push.stderr)")
        let pushed = try push.json()
        #expect(pushed["version"] as? Int == 1)
        #expect(pushed["files"] as? Int == 4)
        #expect(pushed["state"] as? String == "ready")
        #expect(pushed["bytes_uploaded"] as? Int == (70 << 20) + 10_500)
        let digest = try #require(pushed["digest"] as? String)

        let cache = TempDir.make("vessel-cache")
        let target = TempDir.make("vessel-pull") + "/out"
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let pull = try await CLI.run(["pull", "acme/e2e@staging", target, "--cache-dir", cache, "--json"], environment: server.env)
        #expect(pull.status == 0, "\(pull.stderr)")
        let pulled = try pull.json()
        #expect(pulled["bytes_downloaded"] as? Int == (70 << 20) + 10_500)
        #expect(pulled["digest"] as? String == digest)
        for file in ["model-00001-of-00001.bin", "tokenizer/vocab.txt", "tokenizer.json", "empty.txt"] {
            #expect(FileManager.default.contentsEqual(atPath: "\(model)/\(file)", andPath: "\(target)/\(file)"), "\(file)")
        }
        let marker = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(target)/.vessel.json"))) as? [String: Any]
        #expect(marker?["model"] as? String == "acme/e2e" && marker?["version"] as? Int == 1 && marker?["digest"] as? String == digest)

        // Again into the same folder, and into a new one: nothing is transferred.
        let again = try await CLI.run(["pull", "acme/e2e:1", target, "--cache-dir", cache], environment: server.env)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("nothing downloaded"))
        let elsewhere = TempDir.make("vessel-pull2") + "/out"
        let second = try await CLI.run(["pull", "acme/e2e", elsewhere, "--cache-dir", cache, "--json"], environment: server.env)
        #expect(try second.json()["bytes_downloaded"] as? Int == 0)
        #expect(FileManager.default.contentsEqual(atPath: "\(model)/tokenizer/vocab.txt", andPath: "\(elsewhere)/tokenizer/vocab.txt"))

        // A second push of the same folder uploads nothing and makes version 2 with the same digest.
        let repush = try await CLI.run(["push", model, "--model", "acme/e2e", "--json"], environment: server.env)
        #expect(try repush.json()["bytes_uploaded"] as? Int == 0)
        #expect(try repush.json()["digest"] as? String == digest)
        #expect(try repush.json()["version"] as? Int == 2)
    }

    @Test func editedPulledFileNeverCorruptsTheCache() async throws {
        let server = try await ServeProcess()
        let model = TempDir.make("vessel-model")
        try TempDir.writeFile("\(model)/weights.bin", count: 100_000, seed: 4)
        _ = try await CLI.run(["push", model, "--model", "acme/edit"], environment: server.env)
        let cache = TempDir.make("vessel-cache")
        let first = TempDir.make("vessel-pull") + "/a"
        #expect(try await CLI.run(["pull", "acme/edit", first, "--cache-dir", cache], environment: server.env).status == 0)
        // Edit the pulled file in place (it is read-only, so make it writable first).
        chmod("\(first)/weights.bin", 0o644)
        let handle = try #require(FileHandle(forWritingAtPath: "\(first)/weights.bin"))
        try handle.seek(toOffset: 10)
        handle.write(Data("tampered".utf8))
        try handle.close()
        let second = TempDir.make("vessel-pull") + "/b"
        let pull = try await CLI.run(["pull", "acme/edit", second, "--cache-dir", cache, "--json"], environment: server.env)
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(try pull.json()["bytes_downloaded"] as? Int == 100_000)
        #expect(FileManager.default.contentsEqual(atPath: "\(model)/weights.bin", andPath: "\(second)/weights.bin"))
    }

    @Test func serverKilledMidUploadLeavesNothingVisible() async throws {
        let server = try await ServeProcess()
        let model = TempDir.make("vessel-model")
        try TempDir.writeFile("\(model)/big.bin", count: 600 << 20, seed: 5)
        defer { try? FileManager.default.removeItem(atPath: model) }

        // The push runs in a child task (killed if the test ends early) while this one watches.
        async let push = CLI.run(["push", model, "--model", "acme/killed", "--json"], environment: server.env)
        // Kill the server as soon as an upload is in flight: a temporary file or an upload
        // session's data file is growing.
        let tmp = "\(server.dataDir)/blobs/tmp"
        let sessions = "\(server.dataDir)/blobs/uploads"
        func inFlight() -> Bool {
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []).map { "\(tmp)/\($0)" }
                + ((try? FileManager.default.contentsOfDirectory(atPath: sessions)) ?? []).map { "\(sessions)/\($0)/data" }
            return files.contains { ((try? FileManager.default.attributesOfItem(atPath: $0))?[.size] as? Int ?? 0) > 1 << 20 }
        }
        var sawUpload = false
        for _ in 0..<4000 {
            if inFlight() {
                sawUpload = true
                break
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        server.kill()
        let cut = try await push
        #expect(sawUpload, "the upload finished before the server could be killed")
        #expect(cut.status != 0, "\(cut.stdout)")

        try await server.start()
        let versions = try await CLI.run(["versions", "acme/killed", "--json"], environment: server.env)
        #expect(versions.status == 0, "\(versions.stderr)")
        #expect((try versions.json()["items"] as? [Any])?.isEmpty == true)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []).isEmpty, "partial upload files survived the restart")
        let blobs = (FileManager.default.enumerator(atPath: "\(server.dataDir)/blobs/sha256")?.allObjects as? [String]) ?? []
        #expect(blobs.filter { $0.count > 60 }.isEmpty, "a blob became visible: \(blobs)")

        // The push then succeeds from scratch.
        let retry = try await CLI.run(["push", model, "--model", "acme/killed", "--json"], environment: server.env)
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(try retry.json()["version"] as? Int == 1)
    }
}
