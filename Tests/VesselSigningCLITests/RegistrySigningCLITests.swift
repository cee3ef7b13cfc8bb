import Foundation
import Testing
import VesselClient
import VesselCore
import VesselSigning
import VesselTestSupport

/// Signatures in the registry, driven through the `vessel` binary against a live server:
/// keys, push --sign-key, sign --model, show, and pull --verify-key (verify-before-load).
@Suite struct RegistrySigningCLITests {
    @Test func pushSignKeysShowAndVerifiedPull() async throws {
        let ws = try Workspace()
        defer { ws.cleanup() }
        let model = try ws.writeModel("model", SampleModel.files)
        let release = try ws.keyPair("release"), stranger = try ws.keyPair("stranger")
        try await LiveRegistry.with { live in
            func vessel(_ arguments: [String], _ extra: [String: String] = [:]) async throws -> ProcessResult {
                try await CLI.run(arguments, environment: live.environment.merging(extra) { _, new in new }, home: ws.root)
            }
            // Keys: add, list, refuse a duplicate.
            let added = try await vessel(["keys", "add", "release", release.publicKey, "--json"])
            #expect(added.status == 0, "\(added.stdout)\(added.stderr)")
            #expect(try added.json()["name"] as? String == "release")
            let duplicate = try await vessel(["keys", "add", "release", stranger.publicKey])
            #expect(duplicate.status == 5)
            let listed = try await vessel(["keys", "list", "--json"])
            let items = try #require(try listed.json()["items"] as? [[String: Any]])
            #expect(items.map { $0["name"] as? String } == ["release"])

            // Push signed with the trusted key.
            let pushed = try await vessel(["push", model, "--model", "acme/m", "--sign-key", release.privateKey, "--alias", "staging", "--json"])
            #expect(pushed.status == 0, "\(pushed.stdout)\(pushed.stderr)")
            let signature = try #require(try pushed.json()["signature"] as? [String: Any])
            #expect(signature["status"] as? String == "trusted" && signature["key_name"] as? String == "release")
            #expect(try await live.registry.store.signatures(model: try ModelName("acme/m"), version: 1).contains { $0.status == .trusted && $0.keyName == "release" })

            // A second signature of the same version by an untrusted key, via sign --model.
            let local = ws.path("stranger.sig")
            let signedLater = try await vessel(["sign", "--model", "acme/m@staging", "--private-key", stranger.privateKey, "--signature", local, "--json"])
            #expect(signedLater.status == 0, "\(signedLater.stdout)\(signedLater.stderr)")
            #expect((try signedLater.json()["signature"] as? [String: Any])?["status"] as? String == "unverified")
            #expect(FileManager.default.fileExists(atPath: local))

            let shown = try await vessel(["show", "acme/m:1"])
            #expect(shown.status == 0 && shown.stdout.contains("signatures:") && shown.stdout.contains("trusted, key release") && shown.stdout.contains("unverified"), "\(shown.stdout)")
            let shownJSON = try await vessel(["show", "acme/m:1", "--json"])
            #expect((try shownJSON.json()["signatures"] as? [[String: Any]])?.count == 2)

            // Verified pull with the release key, from a flag and from the config file.
            let verified = try await vessel(["pull", "acme/m@staging", ws.path("serving"), "--verify-key", release.publicKey, "--json"])
            #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
            #expect(try verified.json()["verified_signature"] != nil)
            let configDir = ws.url("config/vessel")
            try FileManager.default.createDirectory(at: configDir, withIntermediateDirectories: true)
            try Data("verify_keys = \"\(stranger.publicKey), \(release.publicKey)\"\n".utf8).write(to: configDir.appendingPathComponent("config.toml"))
            let fromConfig = try await vessel(["pull", "acme/m:1", ws.path("serving2"), "--json"])
            #expect(fromConfig.status == 0, "\(fromConfig.stdout)\(fromConfig.stderr)")
            #expect(try fromConfig.json()["verified_signature"] != nil)
            try FileManager.default.removeItem(at: configDir.appendingPathComponent("config.toml"))

            // The pulled folder (with .vessel.json) verifies against the signature made by sign --model.
            let local2 = try await vessel(["verify", ws.path("serving"), "--signature", local, "--public-key", stranger.publicKey])
            #expect(local2.status == 0, "\(local2.stderr)")

            // Version 2, signed only by the stranger: a pull that trusts the release key refuses it
            // and leaves the earlier pull in place.
            try Data("{\"hidden_size\": 16}".utf8).write(to: ws.url("model/config.json"))
            let second = try await vessel(["push", model, "--model", "acme/m", "--sign-key", stranger.privateKey, "--json"])
            #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
            let before = try ws.snapshot("serving")
            let refused = try await vessel(["pull", "acme/m:2", ws.path("serving"), "--verify-key", release.publicKey, "--json"])
            #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
            #expect(try refused.errorCode() == "not_verified")
            #expect(refused.stdout.contains("another key"), "\(refused.stdout)")
            #expect(try ws.snapshot("serving") == before)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: ws.root.path).filter { $0.contains("vessel-staging") }
            #expect(leftovers.isEmpty)
            // A new destination is not even created.
            let cached = try await vessel(["pull", "acme/m:2", ws.path("unsigned"), "--verify-key", release.publicKey])
            #expect(cached.status == 1 && !FileManager.default.fileExists(atPath: ws.path("unsigned")))

            // An unsigned version is refused too; without --verify-key it pulls.
            try Data("{\"hidden_size\": 32}".utf8).write(to: ws.url("model/config.json"))
            #expect(try await vessel(["push", model, "--model", "acme/m"]).status == 0)
            let unsigned = try await vessel(["pull", "acme/m:3", ws.path("three"), "--verify-key", release.publicKey])
            #expect(unsigned.status == 1 && unsigned.stderr.contains("no signatures"), "\(unsigned.stderr)")
            #expect(try await vessel(["pull", "acme/m:3", ws.path("three")]).status == 0)

            // Removing the key: its signatures become unverified.
            #expect(try await vessel(["keys", "rm", "release"]).status == 0)
            #expect(try await vessel(["keys", "rm", "release"]).status == 3)
            #expect(try await !live.registry.store.signatures(model: try ModelName("acme/m"), version: 1).contains { $0.status == .trusted && $0.keyName == "release" })
            let audit = try await vessel(["audit", "--json"])
            #expect(audit.stdout.contains("signature.add") && audit.stdout.contains("key.remove"))
        }
    }

    /// The same refusal in process: `Puller` with the wrong key leaves the destination as it was.
    @Test func pullerRefusesAnotherKeysSignature() async throws {
        let ws = try Workspace()
        defer { ws.cleanup() }
        let model = try ws.writeModel("model", SampleModel.files)
        let signer = try FileSigningKey(contentsOfFile: try ws.keyPair("signer").privateKey)
        let mine = try VerificationKey(contentsOfFile: try ws.keyPair("mine").publicKey)
        try await LiveRegistry.with { live in
            try await live.withClient { api in
                let pushed = try await Pusher(api: api).push(folder: model, model: try ModelName("acme/m"), alias: nil, description: nil, signingKey: signer)
                #expect(pushed.signature?.status == .unverified)
                let cache = try BlobCache(root: ws.path("cache"))
                let destination = ws.path("dest")
                try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
                do {
                    _ = try await Puller(api: api, cache: cache).pull(Reference("acme/m:1"), into: destination, verifyCache: false, allowQuarantined: false, verifyKeys: [mine])
                    Issue.record("the pull should have been refused")
                } catch let error as VesselError {
                    #expect(error.code == .notVerified && error.code.exitCode == 1 && error.code.httpStatus == 422)
                }
                #expect(try FileManager.default.contentsOfDirectory(atPath: destination).isEmpty)
                let pulled = try await Puller(api: api, cache: cache).pull(Reference("acme/m:1"), into: destination, verifyCache: false, allowQuarantined: false, verifyKeys: [mine, signer.publicKey])
                #expect(pulled.verifiedSignature?.id == pushed.signature?.id)
            }
        }
    }
}
