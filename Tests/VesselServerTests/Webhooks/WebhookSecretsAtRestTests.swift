import Foundation
import Logging
import SQLKit
import Testing
import VesselCore
@testable import VesselMetadata
@testable import VesselServer

/// With `--secrets-key-file`, webhook signing secrets are stored sealed (AES-GCM), opened on
/// read, and deliveries are still signed with the secret itself; a wrong or missing key
/// stops the start; rows stored before a key was given are sealed when it is.
@Suite struct WebhookSecretsAtRestTests {
    static let secret = "s3cret-that-must-not-be-stored"

    static func keyFile(_ dir: String, _ contents: [UInt8]) throws -> String {
        let path = "\(dir)/key-\(UUID().uuidString)"
        try Data(contents).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func storedSecrets(_ registry: Registry) async throws -> [String] {
        try await registry.backend.read { db in
            try await db.raw("SELECT secret FROM webhooks").all().map { try $0.decode(column: "secret", as: String.self) }
        }
    }

    @Test func secretsAreSealedAtRestAndDeliveriesStillVerify() async throws {
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: keys) }
        let key = try Self.keyFile(keys, Array(Hex.encode((0..<32).map { UInt8($0 * 7 & 0xFF) }).utf8) + [0x0A])
        try await WebhookReceiver.with { receiver in
            try await APIHarness.with(configure: { options in
                WebhookTesting.patient(&options)
                options.secretsKeyFile = key
            }) { harness, client in
                let hook = try await WebhookTesting.subscribe(client, CreateWebhookRequest(url: receiver.url, events: ["model.*"], secret: Self.secret))
                let stored = try await Self.storedSecrets(harness.registry)
                #expect(stored.count == 1 && stored.allSatisfy { $0.hasPrefix("v1:") && !$0.contains(Self.secret) }, "\(stored)")
                #expect(try await harness.registry.store.webhook(id: hook.id).secret == Self.secret)
                try await WebhookTesting.delivering(harness.registry) {
                    _ = try await harness.registry.store.createModel(try ModelName("acme/sealed"), description: "", tags: [], change: WebhookTesting.system)
                    try await receiver.wait { $0.count >= 1 }
                }
                let delivery = try #require(receiver.accepted.first)
                #expect(WebhookTesting.verify(delivery.signature, body: delivery.body, secret: Self.secret))
            }
        }
    }

    /// A key that does not open the stored secrets, or none at all, stops the start with a
    /// message naming the option; secrets stored before a key was given are sealed then.
    @Test func aWrongOrMissingKeyStopsTheStartAndPlaintextRowsAreSealed() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-sealed-\(UUID().uuidString)").path
        let keys = dir + "-keys"
        try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: keys) }
        let right = try Self.keyFile(keys, Array(repeating: 1, count: 32))
        let wrong = try Self.keyFile(keys, Array(Data(repeating: 2, count: 32).base64EncodedString().utf8))
        var options = ServerOptions(dataDir: dir, adminToken: APIHarness.adminToken)
        let logger = Logger(label: "test")

        // Stored as given without a key.
        let plain = try await Registry.openEmbedded(options, logger: logger)
        let old = try await plain.store.createWebhook(url: "http://127.0.0.1:9/old", filter: try EventFilter(patterns: ["*"], scope: .registry),
                                                      format: .json, secret: Self.secret, change: WebhookTesting.system)
        #expect(try await Self.storedSecrets(plain) == [Self.secret])
        await plain.shutdown()

        // Sealed once a key is given; still opens.
        options.secretsKeyFile = right
        let sealed = try await Registry.openEmbedded(options, logger: logger)
        #expect(try await Self.storedSecrets(sealed).allSatisfy { $0.hasPrefix("v1:") && !$0.contains(Self.secret) })
        #expect(try await sealed.store.webhook(id: old.id).secret == Self.secret)
        await sealed.shutdown()

        for keyFile in [wrong, nil] {
            options.secretsKeyFile = keyFile
            do {
                let opened = try await Registry.openEmbedded(options, logger: logger)
                await opened.shutdown()
                Issue.record("started with key \(keyFile ?? "none")")
            } catch let error as VesselError {
                #expect(error.code == .unavailable && error.message.contains("--secrets-key-file"), "\(error.message)")
            }
        }
    }

    @Test func keyFilesHoldThirtyTwoBytesRawHexOrBase64() throws {
        let bytes = (0..<32).map { UInt8($0) }
        #expect(WebhookSecretSealer.parseKey(bytes) == bytes)
        #expect(WebhookSecretSealer.parseKey(Array((Hex.encode(bytes).uppercased() + "\n").utf8)) == bytes)
        #expect(WebhookSecretSealer.parseKey(Array(("  " + Data(bytes).base64EncodedString() + "\n").utf8)) == bytes)
        for bad in [Array(bytes.prefix(16)), Array(Hex.encode(bytes.prefix(16)).utf8), Array("not a key".utf8), []] {
            #expect(WebhookSecretSealer.parseKey(bad) == nil, "\(bad)")
        }
        #expect(throws: VesselError.self) { try WebhookSecretSealer.load(keyFile: "/nonexistent/key") }
    }
}
