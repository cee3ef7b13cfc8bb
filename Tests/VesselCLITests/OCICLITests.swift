import Foundation
import Testing
import VesselTestSupport

/// `vessel export --oci-layout` / `--dockerfile` and `vessel import --oci-layout` through the built
/// binary against `vessel serve` (issue 30, docs/oci.md): the round trip through Debian's skopeo
/// to the same version digest, a reproducible manifest, a tampered layer and hostile tar entries
/// refused with exit 2, and the Dockerfile's label.
@Suite struct OCICLITests {
    static let skopeo = ["/usr/bin/skopeo", "/usr/local/bin/skopeo"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// A model with a file large enough for a layer of its own, small files in folders, an empty one.
    static func pushModel(_ model: String, env: [String: String]) async throws -> (folder: String, digest: String) {
        let folder = TempDir.make("vessel-oci-model")
        try TempDir.writeFile("\(folder)/model-00001-of-00001.bin", count: 17 << 20, seed: 7)
        try TempDir.writeFile("\(folder)/tokenizer/vocab.txt", count: 3000, seed: 8)
        try #"{"architectures": ["X"]}"#.write(toFile: "\(folder)/config.json", atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: "\(folder)/empty.txt", contents: Data())
        let push = try await CLI.run(["push", folder, "--model", model, "--json"], environment: env)
        #expect(push.status == 0, "\(push.stderr)")
        return (folder, try #require(try push.json()["digest"] as? String))
    }

    static func inspect(_ reference: String) async throws -> [String: Any] {
        let skopeo = try #require(Self.skopeo)
        let result = try await runProcess(skopeo, ["inspect", "--config", reference], timeLimit: .seconds(120))
        #expect(result.status == 0, "\(result.stderr)")
        return try result.json()
    }

    @Test(.enabled(if: OCICLITests.skopeo != nil, "skopeo is not installed (scripts/test installs it with apt-get)"))
    func roundTripThroughSkopeoKeepsTheVersionDigest() async throws {
        let server = try await ServeProcess()
        let env = server.env
        let (_, digest) = try await Self.pushModel("acme/oci", env: env)
        let work = TempDir.make("vessel-oci")
        let cache = "\(work)/cache"

        let export = try await CLI.run(["export", "acme/oci:1", "--oci-layout", "\(work)/one", "--cache-dir", cache, "--json"], environment: env)
        #expect(export.status == 0, "\(export.stderr)")
        let exported = try export.json()
        #expect(exported["tag"] as? String == "v1" && exported["digest"] as? String == digest && exported["layers"] as? Int == 2)
        #expect(exported["files"] as? Int == 4)
        let manifestDigest = try #require(exported["manifest_digest"] as? String)
        // Exported again (another layout, another tag-less run): the same manifest, byte for byte.
        let again = try await CLI.run(["export", "acme/oci", "--oci-layout", "\(work)/two", "--cache-dir", cache, "--json"], environment: env)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try again.json()["manifest_digest"] as? String == manifestDigest)

        // skopeo reads the image: the config's labels carry the model, version and digest.
        let config = try await Self.inspect("oci:\(work)/one:v1")
        let labels = ((config["config"] as? [String: Any])?["Labels"] as? [String: String]) ?? [:]
        #expect(labels["dev.vessel.model"] == "acme/oci" && labels["dev.vessel.version"] == "1" && labels["dev.vessel.version.digest"] == digest, "\(config)")
        let skopeo = try #require(Self.skopeo)
        let raw = try await runProcess(skopeo, ["inspect", "--raw", "oci:\(work)/one:v1"], timeLimit: .seconds(120))
        #expect(raw.status == 0, "\(raw.stderr)")
        #expect(((try raw.json()["annotations"] as? [String: String]) ?? [:])["dev.vessel.version.digest"] == digest)

        // The layers hold the files under /models/acme/oci/ (GNU tar reads them).
        let layers = ((try raw.json()["layers"] as? [[String: Any]]) ?? []).compactMap { $0["digest"] as? String }
        var listed: [String] = []
        for layer in layers {
            let tar = try await runProcess("/usr/bin/tar", ["-tf", "\(work)/one/blobs/sha256/\(layer.dropFirst(7))"], timeLimit: .seconds(60))
            #expect(tar.status == 0, "\(tar.stderr)")
            listed += tar.stdout.split(separator: "\n").map(String.init)
        }
        for path in ["models/acme/oci/config.json", "models/acme/oci/empty.txt", "models/acme/oci/tokenizer/vocab.txt", "models/acme/oci/model-00001-of-00001.bin"] {
            #expect(listed.contains(path), "\(path) in \(listed)")
        }

        // skopeo copies it to another layout; that copy imports as a version with the same digest.
        // --dest-oci-accept-uncompressed-layers keeps the layers as they are; a plain copy (below)
        // gzips them, and import reads those too.
        let copy = try await runProcess(skopeo, ["copy", "--dest-oci-accept-uncompressed-layers", "oci:\(work)/one:v1", "oci:\(work)/copied:mirror"], timeLimit: .seconds(300))
        #expect(copy.status == 0, "\(copy.stderr)")
        let gzipped = try await runProcess(skopeo, ["copy", "oci:\(work)/one:v1", "oci:\(work)/gzipped:mirror"], timeLimit: .seconds(300))
        #expect(gzipped.status == 0, "\(gzipped.stderr)")
        let gzRaw = try await runProcess(skopeo, ["inspect", "--raw", "oci:\(work)/gzipped:mirror"], timeLimit: .seconds(120))
        #expect(gzRaw.stdout.contains("tar+gzip"), "\(gzRaw.stdout)")
        let fromGzip = try await CLI.run(["import", "--oci-layout", "\(work)/gzipped:mirror", "--model", "mirror/gz", "--json"], environment: env)
        #expect(fromGzip.status == 0 && (try? fromGzip.json()["digest"] as? String) == digest, "\(fromGzip.stdout)\(fromGzip.stderr)")
        let imported = try await CLI.run(["import", "--oci-layout", "\(work)/copied:mirror", "--model", "mirror/oci", "--json"], environment: env)
        #expect(imported.status == 0, "\(imported.stderr)")
        let result = try imported.json()
        #expect(result["digest"] as? String == digest && result["model"] as? String == "mirror/oci" && result["version"] as? Int == 1, "\(result)")
        #expect(result["source"] as? String == "acme/oci")
        // The imported version pulls back byte-identical to the original.
        let pulled = try await CLI.run(["pull", "mirror/oci:1", "\(work)/pulled", "--cache-dir", cache, "--json"], environment: env)
        #expect(pulled.status == 0 && (try? pulled.json()["digest"] as? String) == digest, "\(pulled.stderr)")
    }

    @Test func aTamperedLayerIsRefusedAndNothingIsPushed() async throws {
        let server = try await ServeProcess()
        let env = server.env
        _ = try await Self.pushModel("acme/oci", env: env)
        let work = TempDir.make("vessel-oci-tamper")
        let export = try await CLI.run(["export", "acme/oci:1", "--oci-layout", "\(work)/layout", "--tag", "t", "--cache-dir", "\(work)/cache", "--json"], environment: env)
        #expect(export.status == 0, "\(export.stderr)")
        // Flip one byte in the middle of the largest layer (its size unchanged).
        let blobs = "\(work)/layout/blobs/sha256"
        let names = try FileManager.default.contentsOfDirectory(atPath: blobs)
        let largest = try #require(names.max { (Self.size("\(blobs)/\($0)")) < (Self.size("\(blobs)/\($1)")) })
        let handle = try #require(FileHandle(forUpdatingAtPath: "\(blobs)/\(largest)"))
        try handle.seek(toOffset: 5 << 20)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: 5 << 20)
        try handle.write(contentsOf: Data([byte ^ 0xff]))
        try handle.close()

        let imported = try await CLI.run(["import", "--oci-layout", "\(work)/layout:t", "--model", "acme/tampered", "--json"], environment: env)
        #expect(imported.status == 2, "\(imported.stdout)\(imported.stderr)")
        #expect(try imported.errorCode() == "digest_mismatch")
        let message = try (imported.json()["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("sha256:\(largest)") && message.contains("altered"), "\(message)")
        #expect(try await CLI.run(["show", "acme/tampered"], environment: env).status == 3)
        // A tag the layout lacks is not found; a malformed tag is refused before anything is pulled.
        #expect(try await CLI.run(["import", "--oci-layout", "\(work)/layout:nope", "--model", "acme/x"], environment: env).status == 3)
        #expect(try await CLI.run(["export", "acme/oci:1", "--oci-layout", "\(work)/bad", "--tag", "no/slash"], environment: env).status == 2)
    }

    @Test func hostileTarEntriesAreRefused() async throws {
        let server = try await ServeProcess()
        let env = server.env
        let cases: [(entries: [(String, UInt8, [UInt8])], says: String)] = [
            ([("models/acme/evil/ok.txt", 0x30, [1]), ("models/acme/evil/../../../tmp/escaped.txt", 0x30, [2])], "'..'"),
            ([("etc/passwd", 0x30, Array("root::0:0::/:/bin/sh\n".utf8))], "outside /models/acme/evil/"),
            ([("models/acme/other/w.bin", 0x30, [3])], "outside /models/acme/evil/"),
            ([("models/acme/evil/link", 0x32, [])], "symbolic link"),
        ]
        for (index, item) in cases.enumerated() {
            let layout = TempDir.make("vessel-oci-hostile-\(index)")
            try await Self.writeLayout(layout, tar: Self.tar(item.entries))
            let imported = try await CLI.run(["import", "--oci-layout", layout, "--model", "acme/evil", "--json"], environment: env)
            #expect(imported.status == 2, "case \(index): \(imported.stdout)\(imported.stderr)")
            let message = try (imported.json()["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains(item.says), "case \(index): \(message)")
            #expect(!FileManager.default.fileExists(atPath: "/tmp/escaped.txt"))
        }
        #expect(try await CLI.run(["show", "acme/evil"], environment: env).status == 3)
        // A well-formed hand-made image imports (so the refusals above are about the entries).
        let good = TempDir.make("vessel-oci-good")
        try await Self.writeLayout(good, tar: Self.tar([("models/", 0x35, []), ("models/acme/evil/a.txt", 0x30, Array("hello\n".utf8))]))
        let imported = try await CLI.run(["import", "--oci-layout", good, "--model", "acme/evil", "--json"], environment: env)
        #expect(imported.status == 0, "\(imported.stdout)\(imported.stderr)")
    }

    @Test func dockerfileCarriesTheDigestAsALabel() async throws {
        let server = try await ServeProcess()
        let env = server.env
        let (_, digest) = try await Self.pushModel("acme/oci", env: env)
        let result = try await CLI.run(["export", "acme/oci", "--dockerfile"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        let text = result.stdout
        #expect(text.contains("FROM scratch"))
        #expect(text.contains("COPY --chown=0:0 model/ /models/acme/oci/"), "\(text)")
        #expect(text.contains("dev.vessel.version.digest=\"\(digest)\""), "\(text)")
        #expect(text.contains("LABEL dev.vessel.model=\"acme/oci\""), "\(text)")
        #expect(text.contains("vessel pull acme/oci:1 ./model"), "\(text)")
        let json = try await CLI.run(["export", "acme/oci:1", "--dockerfile", "--from", "debian:bookworm-slim", "--json"], environment: env).json()
        #expect(json["digest"] as? String == digest && (json["dockerfile"] as? String)?.contains("FROM debian:bookworm-slim") == true)
        // Usage: exactly one of the two outputs.
        #expect(try await CLI.run(["export", "acme/oci"], environment: env).status == 64)
        #expect(try await CLI.run(["export", "acme/oci", "--dockerfile", "--oci-layout", "x"], environment: env).status == 64)
        #expect(try await CLI.run(["export", "acme/nothing", "--dockerfile"], environment: env).status == 3)
    }

    static func size(_ path: String) -> UInt64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.uint64Value ?? 0
    }

    /// A ustar archive of `entries` (path, type flag, content), written here rather than by the
    /// code under test.
    static func tar(_ entries: [(String, UInt8, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for (path, type, content) in entries {
            var header = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, _ offset: Int) { for (i, b) in text.utf8.enumerated() { header[offset + i] = b } }
            put(path, 0)
            put("0000644\0", 100); put("0000000\0", 108); put("0000000\0", 116)
            put(String(format: "%011o\0", content.count), 124)
            put("00000000000\0", 136)
            header[156] = type
            if type == 0x32 { put("/etc/passwd", 157) }
            put("ustar\0", 257); put("00", 263)
            for i in 148..<156 { header[i] = 0x20 }
            put(String(format: "%06o\0 ", header.reduce(0) { $0 + Int($1) }), 148)
            out += header + content
            if content.count % 512 != 0 { out += [UInt8](repeating: 0, count: 512 - content.count % 512) }
        }
        return out + [UInt8](repeating: 0, count: 1024)
    }

    /// An OCI layout holding one image whose single layer is `tar`, every digest right.
    static func writeLayout(_ dir: String, tar: [UInt8]) async throws {
        try FileManager.default.createDirectory(atPath: "\(dir)/blobs/sha256", withIntermediateDirectories: true)
        func store(_ bytes: [UInt8]) async throws -> String {
            let temporary = "\(dir)/blob.tmp"
            try Data(bytes).write(to: URL(fileURLWithPath: temporary))
            let sum = try await runProcess("/usr/bin/sha256sum", [temporary], timeLimit: .seconds(60))
            let hex = String(sum.stdout.prefix(64))
            try FileManager.default.moveItem(atPath: temporary, toPath: "\(dir)/blobs/sha256/\(hex)")
            return "sha256:\(hex)"
        }
        let layer = try await store(tar)
        let config = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["\#(layer)"]}}"#.utf8)
        let configDigest = try await store(config)
        let manifest = Array("""
        {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(configDigest)","size":\(config.count)},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"\(layer)","size":\(tar.count)}]}
        """.utf8)
        let manifestDigest = try await store(manifest)
        try #"{"imageLayoutVersion":"1.0.0"}"#.write(toFile: "\(dir)/oci-layout", atomically: true, encoding: .utf8)
        try """
        {"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(manifestDigest)","size":\(manifest.count)}]}
        """.write(toFile: "\(dir)/index.json", atomically: true, encoding: .utf8)
    }
}
