import Foundation
import Testing
import VesselTestSupport

/// `vessel dataset`, `run`, `push --run`, `show`, `env check REF` and `lineage` against a real
/// `vessel serve` (issue 25): a chain raw → clean → run → version, its environment, the lineage
/// gate, and the exit codes of bad inputs.
@Suite struct LineageCLITests {
    static let digest = "sha256:" + String(repeating: "ab", count: 32)
    static let image = "ghcr.io/acme/serve@sha256:" + String(repeating: "cd", count: 32)

    @Test func aChainFromRawDataToAVersionAndItsEnvironment() async throws {
        let server = try await ServeProcess(arguments: [])
        let env = server.env
        let dir = TempDir.make("vessel-lineage")
        func run(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
            let result = try await CLI.run(arguments, environment: env)
            return (result.status, result.stdout, result.stderr)
        }

        let raw = try await CLI.run(["dataset", "add", "acme/raw", "--uri", "s3://lake/raw", "--digest", Self.digest, "--size", "1024", "--json"], environment: env)
        #expect(raw.status == 0, "\(raw.stderr)")
        let rawJSON = try raw.json()
        #expect(rawJSON["revision"] as? Int == 1 && rawJSON["digest"] as? String == Self.digest)
        #expect(try await run(["dataset", "add", "acme/clean", "--uri", "s3://lake/clean", "--from", "acme/raw:1"]).status == 0)
        let shown = try await CLI.run(["dataset", "show", "acme/clean:1", "--json"], environment: env).json()
        #expect(shown["from"] as? [String] == ["acme/raw:1"])
        let listed = try await CLI.run(["dataset", "list", "--json"], environment: env).json()
        #expect((listed["items"] as? [[String: Any]])?.compactMap { $0["dataset"] as? String } == ["acme/clean", "acme/raw"])

        try "lr: 0.1\n".write(toFile: "\(dir)/train.yaml", atomically: true, encoding: .utf8)
        let added = try await CLI.run(["run", "add", "acme", "--name", "nightly", "--git-commit", "abc123", "--config", "\(dir)/train.yaml",
                                       "--param", "lr=0.1", "--metric", "loss=0.25", "--dataset", "acme/clean:1", "--image", Self.image, "--json"], environment: env)
        #expect(added.status == 0, "\(added.stderr)")
        let addedJSON = try added.json()
        let runID = try #require(addedJSON["id"] as? String)
        #expect(runID.hasPrefix("run_") && (addedJSON["config_digest"] as? String)?.hasPrefix("sha256:") == true)

        // A version with its own requirements.txt, linked to the run; its image falls back to the run's.
        let folder = TempDir.make("vessel-lineage-model")
        try "{\"a\": 1}".write(toFile: "\(folder)/config.json", atomically: true, encoding: .utf8)
        try "# pinned\ntransformers==4.35.0\n--index-url https://pypi.org/simple\n".write(toFile: "\(folder)/requirements.txt", atomically: true, encoding: .utf8)
        let push = try await run(["push", folder, "--model", "acme/m", "--run", runID])
        #expect(push.status == 0, "\(push.stderr)")
        let version = try await CLI.run(["show", "acme/m:1", "--json"], environment: env).json()
        #expect(version["run"] as? String == "acme/\(runID)")
        let environment = version["environment"] as? [String: Any]
        #expect(environment?["image"] as? String == Self.image && environment?["image_source"] as? String == "run")
        #expect((environment?["requirements"] as? [[String: Any]])?.compactMap { $0["kind"] as? String } == ["requirement", "option"])
        let text = try await run(["show", "acme/m:1"])
        #expect(text.stdout.contains("run:         acme/\(runID)") && text.stdout.contains("transformers==4.35.0"), "\(text.stdout)")

        // The seed's case, against the stored requirements.
        try "transformers==4.30.0\n".write(toFile: "\(dir)/old.txt", atomically: true, encoding: .utf8)
        try "transformers==4.35.0\n".write(toFile: "\(dir)/new.txt", atomically: true, encoding: .utf8)
        let old = try await run(["env", "check", "acme/m:1", "--freeze", "\(dir)/old.txt"])
        #expect(old.status == 1 && old.stdout.contains("4.30.0") && old.stdout.contains("4.35.0") && old.stdout.contains("incompatible"), "\(old.stdout)\(old.stderr)")
        #expect(try await run(["env", "check", "acme/m:1", "--freeze", "\(dir)/new.txt"]).status == 0)

        // Up from the version, down from the raw data.
        let up = try await CLI.run(["lineage", "acme/m:1", "--json"], environment: env).json()
        #expect((up["nodes"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["version:acme/m:1", "run:acme/\(runID)", "dataset:acme/clean:1", "dataset:acme/raw:1"])
        #expect((up["edges"] as? [[String: Any]])?.count == 3)
        let down = try await CLI.run(["lineage", "dataset:acme/raw:1", "--json"], environment: env).json()
        #expect((down["nodes"] as? [[String: Any]])?.last?["id"] as? String == "version:acme/m:1" && down["direction"] as? String == "down")
        let dot = try await run(["lineage", "dataset:acme/raw:1", "--format", "dot", "--depth", "1"])
        #expect(dot.status == 0 && dot.stdout.hasPrefix("digraph lineage {") && dot.stdout.contains("\"dataset:acme/raw:1\" -> \"dataset:acme/clean:1\""), "\(dot.stdout)")

        // The lineage gate: version 2 links no run, so it cannot take the protected alias; version 1 can.
        try "{\"a\": 2}".write(toFile: "\(folder)/config.json", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: "\(folder)/requirements.txt")
        #expect(try await run(["push", folder, "--model", "acme/m"]).status == 0)
        #expect(try await run(["protect", "acme/m", "production", "--gate", "lineage"]).status == 0)
        let refused = try await run(["promote", "acme/m", "2", "--to", "production"])
        #expect(refused.status == 1 && (refused.stdout + refused.stderr).contains("lineage"), "\(refused.stdout)\(refused.stderr)")
        let promoted = try await run(["promote", "acme/m", "1", "--to", "production"])
        #expect(promoted.status == 0, "\(promoted.stdout)\(promoted.stderr)")
    }

    @Test func badInputsExitWithTheirCodes() async throws {
        let server = try await ServeProcess(arguments: [])
        let env = server.env
        let folder = TempDir.make("vessel-lineage-bad")
        try "{\"a\": 1}".write(toFile: "\(folder)/config.json", atomically: true, encoding: .utf8)
        #expect(try await CLI.run(["push", folder, "--model", "acme/m"], environment: env).status == 0)
        #expect(try await CLI.run(["dataset", "add", "acme/raw", "--uri", "s3://x"], environment: env).status == 0)

        // An unknown dataset revision: 3, whether derived from or trained on.
        #expect(try await CLI.run(["dataset", "add", "acme/clean", "--uri", "s3://y", "--from", "acme/raw:9"], environment: env).status == 3)
        #expect(try await CLI.run(["run", "add", "acme", "--dataset", "acme/raw:9"], environment: env).status == 3)
        #expect(try await CLI.run(["dataset", "show", "acme/raw:2"], environment: env).status == 3)
        // A malformed digest, an image without a digest: 2.
        let digest = try await CLI.run(["dataset", "add", "acme/raw", "--uri", "s3://x", "--digest", "sha256:xyz", "--json"], environment: env)
        let error = try digest.json()["error"] as? [String: Any]
        #expect(digest.status == 2 && error?["code"] as? String == "invalid_argument")
        #expect(try await CLI.run(["run", "add", "acme", "--image", "ghcr.io/acme/serve:latest"], environment: env).status == 2)
        #expect(try await CLI.run(["push", folder, "--model", "acme/m", "--image", "ghcr.io/acme/serve:latest"], environment: env).status == 2)
        // A name a model has: 5 (conflict); a model cannot take a dataset's name either.
        let taken = try await CLI.run(["dataset", "add", "acme/m", "--uri", "s3://x"], environment: env)
        #expect(taken.status == 5 && taken.stderr.contains("model"), "\(taken.stderr)")
        #expect(try await CLI.run(["push", folder, "--model", "acme/raw"], environment: env).status == 5)
        // A requirements line pip would not take refuses the push, naming file and line.
        try "numpy>=1.26\nthis is not a requirement!\n".write(toFile: "\(folder)/requirements.txt", atomically: true, encoding: .utf8)
        let bad = try await CLI.run(["push", folder, "--model", "acme/m"], environment: env)
        #expect(bad.status == 2 && bad.stderr.contains("requirements.txt:2"), "\(bad.stderr)")
        // An unknown run: 3.
        try FileManager.default.removeItem(atPath: "\(folder)/requirements.txt")
        #expect(try await CLI.run(["push", folder, "--model", "acme/m", "--run", "run_000000000000"], environment: env).status == 3)
        #expect(try await CLI.run(["lineage", "dataset:acme/raw:5"], environment: env).status == 3)
    }
}
