import Foundation
import Testing
import VesselFormats
import VesselTestSupport

/// `vessel inspect`, `vessel scan`, and quarantine as the CLI shows them.
@Suite(.serialized) struct FormatsCLITests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("VesselFormatsTests/Fixtures/scan").path

    static func writeCheckpoint(_ folder: String) throws {
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        try writer.addTensor(name: "embed", dtype: .bf16, shape: [16, 8], bytes: [UInt8](repeating: 3, count: 256))
        try writer.addTensor(name: "scale", dtype: .f32, shape: [], bytes: [0, 0, 128, 63])
        try writer.write(toPath: "\(folder)/model.safetensors")
    }

    @Test func scanVerdictsAndExitCodes() async throws {
        let unsafe = try await CLI.run(["scan", "\(Self.fixtures)/global_os_system.pkl", "--json"])
        #expect(unsafe.status == 1)
        let object = try unsafe.json()
        #expect(object["verdict"] as? String == "unsafe")
        #expect(object["format"] as? String == "pickle")
        let benign = try await CLI.run(["scan", "\(Self.fixtures)/benign_ordereddict_p2.pkl"])
        #expect(benign.status == 0, "\(benign.stdout)")
        #expect(try await CLI.run(["scan", "\(Self.fixtures)/truncated.pkl"]).status == 2)
        let folder = TempDir.make("vessel-scan")
        try FileManager.default.copyItem(atPath: "\(Self.fixtures)/benign_numpy_p2.pkl", toPath: "\(folder)/a.pkl")
        try FileManager.default.copyItem(atPath: "\(Self.fixtures)/config.json", toPath: "\(folder)/config.json")
        let many = try await CLI.run(["scan", folder, "--json"])
        #expect(many.status == 0)
        #expect((try many.json()["files"] as? [[String: Any]])?.count == 2)
        #expect(try await CLI.run(["scan", "/nonexistent/x.pkl"]).status == 3)
    }

    @Test func inspectLocalAndRemote() async throws {
        let folder = TempDir.make("vessel-inspect")
        try Self.writeCheckpoint(folder)
        let local = try await CLI.run(["inspect", "\(folder)/model.safetensors", "--json"])
        #expect(local.status == 0, "\(local.stdout)\(local.stderr)")
        let report = try local.json()
        #expect(report["valid"] as? Bool == true)
        #expect(report["parameters"] as? Int == 129)
        let text = try await CLI.run(["inspect", folder])
        #expect(text.status == 0)
        #expect(text.stdout.contains("embed"))

        let server = try await ServeProcess()
        #expect(try await CLI.run(["push", folder, "--model", "acme/inspect"], environment: server.env).status == 0)
        let remote = try await CLI.run(["inspect", "acme/inspect:1", "--json"], environment: server.env)
        #expect(remote.status == 0, "\(remote.stdout)\(remote.stderr)")
        #expect(try remote.json()["parameters"] as? Int == 129)
        let show = try await CLI.run(["show", "acme/inspect:1"], environment: server.env)
        #expect(show.stdout.contains("parameters:  129 in 2 tensors"))
        let filtered = try await CLI.run(["versions", "acme/inspect", "--dtype", "BF16", "--json"], environment: server.env)
        #expect((try filtered.json()["items"] as? [Any])?.count == 1)

        let broken = TempDir.make("vessel-broken")
        #expect(FileManager.default.createFile(atPath: "\(broken)/model.safetensors", contents: Data([255, 0, 0, 0, 0, 0, 0, 0, 123])))
        let invalid = try await CLI.run(["inspect", "\(broken)/model.safetensors", "--json"])
        #expect(invalid.status == 2)
        #expect((try invalid.json()["error"] as? [String: Any])?["code"] as? String == "header_length_exceeds_file")
    }

    @Test func quarantinedVersionsAreNotPulledWithoutOverride() async throws {
        let server = try await ServeProcess()
        let folder = TempDir.make("vessel-quarantine")
        try FileManager.default.copyItem(atPath: "\(Self.fixtures)/global_os_system.pkl", toPath: "\(folder)/model.pkl")
        let push = try await CLI.run(["push", folder, "--model", "acme/evil", "--alias", "staging", "--json"], environment: server.env)
        #expect(push.status == 1)
        #expect(try push.json()["state"] as? String == "quarantined")
        #expect(push.stderr.contains("quarantined"))
        let show = try await CLI.run(["show", "acme/evil:1"], environment: server.env)
        #expect(show.stdout.contains("format_not_allowed"))
        #expect(show.stdout.contains("unsafe"))
        let target = TempDir.make("vessel-q") + "/out"
        let refused = try await CLI.run(["pull", "acme/evil:1", target, "--cache-dir", TempDir.make("c")], environment: server.env)
        #expect(refused.status == 1)
        #expect(!FileManager.default.fileExists(atPath: target))
        #expect(try await CLI.run(["alias", "set", "acme/evil", "prod", "1"], environment: server.env).status == 1)
        let forced = try await CLI.run(["pull", "acme/evil:1", target, "--cache-dir", TempDir.make("c"), "--allow-quarantined"], environment: server.env)
        #expect(forced.status == 0, "\(forced.stderr)")
    }
}
