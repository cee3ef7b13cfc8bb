import Foundation
import Testing
import VesselCore
@testable import VesselMetadata
@testable import VesselServer

@Suite struct WebhookPayloadTests {
    static func delivery(model: String, payload: [String: String]) -> PendingDelivery {
        PendingDelivery(webhookID: "whk_1", eventSeq: 7, eventID: "evt_\"quoted\"", eventType: "alias.moved", eventAt: 1_790_000_000_123_456,
                        model: model, payload: payload, attempts: 0, firstAttemptAt: nil, nextAttemptAt: 0)
    }

    /// The JSON payload parses to exactly the documented fields, whatever the strings hold.
    @Test(arguments: [
        ("acme/demo", ["version": "3", "alias": "production", "actor": "ci-bot", "previous_version": "2"]),
        ("", ["actor": "admin"]),
        ("acme/odd", ["version": "not-a-number", "alias": "a\"b\\c/d", "actor": "tab\there\nnewline\u{01}\u{7F} ünïcode 🚀", "note": "</script>"]),
    ])
    func jsonPayloadHoldsTheDocumentedFields(model: String, payload: [String: String]) throws {
        let delivery = Self.delivery(model: model, payload: payload)
        let bytes = WebhookPayload.json(delivery)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object.keys.sorted() == ["actor", "alias", "data", "id", "model", "time", "type", "version"])
        #expect(object["id"] as? String == delivery.eventID)
        #expect(object["type"] as? String == "alias.moved")
        #expect(object["time"] as? String == Timestamp.rfc3339(micros: delivery.eventAt))
        #expect(object["model"] as? String == (model.isEmpty ? nil : model))
        #expect(model.isEmpty == (object["model"] is NSNull))
        #expect(object["version"] as? Int == payload["version"].flatMap { Int($0) })
        #expect((object["version"] is NSNull) == (payload["version"].flatMap { Int($0) } == nil))
        #expect(object["alias"] as? String == payload["alias"])
        #expect(object["actor"] as? String == payload["actor"])
        #expect(object["data"] as? [String: String] == payload)
        // Compact, keys in sorted order, slashes not escaped.
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains(": ") && !text.contains("\\/"))
        #expect(Self.topLevelKeys(bytes) == ["actor", "alias", "data", "id", "model", "time", "type", "version"])
    }

    /// The keys of a JSON object's top level, in the order written.
    static func topLevelKeys(_ bytes: [UInt8]) -> [String] {
        var keys: [String] = [], depth = 0, index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                var end = index + 1
                while bytes[end] != UInt8(ascii: "\"") { end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1 }
                if depth == 1 && bytes[end + 1] == UInt8(ascii: ":") { keys.append(String(decoding: bytes[(index + 1)..<end], as: UTF8.self)) }
                index = end + 1
                continue
            }
            if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") { depth += 1 }
            if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") { depth -= 1 }
            index += 1
        }
        return keys
    }

    @Test func quotedEscapesWhatJSONRequires() throws {
        for text in ["", "plain", "q\"b\\s", "\u{00}\u{08}\u{0C}\u{1F}\u{7F}", "ünï 🚀", "a/b"] {
            let quoted = JSONText.quoted(text)
            let parsed = try JSONSerialization.jsonObject(with: Data(quoted.utf8), options: .fragmentsAllowed) as? String
            #expect(parsed == text, "\(quoted)")
            #expect(!quoted.utf8.dropFirst().dropLast().contains { $0 < 0x20 })
        }
        #expect(JSONText.quoted("\u{01}\n") == "\"\\u0001\\n\"")
    }

    @Test func signatureIsTheLowercaseHexHMACOfTimestampDotBody() {
        // Python: hmac.new(b"whsec_test", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
        #expect(WebhookSignature(secret: "whsec_test").header(timestamp: 1_700_000_000, body: Array("{\"a\":1}".utf8))
            == "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789")
        #expect(Hex.encode([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
        #expect(Hex.decodeLowercase("000fa5ff", byteCount: 4) == [0x00, 0x0f, 0xa5, 0xff])
        #expect(Hex.decodeLowercase("000FA5FF", byteCount: 4) == nil)
    }

    /// Every event type's Slack sentence, as written before the switch became exhaustive; a
    /// type unknown to this build still gets one.
    @Test func everyEventTypeHasItsSlackSummary() {
        let full = ["version": "3", "alias": "prod", "actor": "ci", "previous_version": "2", "failures": "gate signed", "check": "eval", "status": "passed",
                    "env": "prod-eu", "candidate_weight": "10", "automatic": "true", "reason": "error rate 0.5 is above --max-error-rate 0.02",
                    "node": "gpu-7", "drift": "drifted", "desired_version": "3",
                    "versions": "13", "drafts": "1", "blobs": "14", "bytes": "4096"]
        let expected: [Outbox.EventType: String] = [
            .modelCreated: "ci created model acme/demo",
            .modelUpdated: "ci updated model acme/demo",
            .versionUpdated: "ci updated the description of acme/demo version 3",
            .versionCreated: "ci pushed acme/demo version 3",
            .versionReady: "acme/demo version 3 is ready",
            .versionQuarantined: "acme/demo version 3 was quarantined",
            .versionArchived: "ci archived acme/demo version 3",
            .versionDeleted: "ci deleted acme/demo version 3",
            .aliasSet: "ci pointed acme/demo@prod at version 3",
            .aliasMoved: "ci moved acme/demo@prod to version 3 (was version 2)",
            .aliasRemoved: "ci removed acme/demo@prod",
            .promotionRequested: "ci requested promoting acme/demo version 3 to prod",
            .promotionApproved: "ci approved promoting acme/demo version 3 to prod",
            .promotionRejected: "ci rejected promoting acme/demo version 3 to prod",
            .promotionRefused: "promoting acme/demo version 3 to prod was refused: gate signed",
            .checkReported: "check eval passed on acme/demo version 3",
            .signatureAdded: "ci signed acme/demo version 3",
            .datasetAdded: "ci added dataset acme/demo revision ?",
            .runAdded: "ci recorded training run ?/?",
            .webhookTest: "test delivery from Vessel, requested by ci",
            .deploymentStarted: "ci started rolling out acme/demo version 3 in prod-eu",
            .deploymentAdvanced: "acme/demo version 3 takes 10% of prod-eu",
            .deploymentCompleted: "acme/demo version 3 is live in prod-eu (was version 2)",
            .deploymentRolledBack: "Vessel rolled back acme/demo version 3 in prod-eu: error rate 0.5 is above --max-error-rate 0.02",
            .deploymentDrift: "gpu-7 serving acme/demo in prod-eu drifted: it does not serve version 3",
            .deploymentInSync: "gpu-7 serving acme/demo in prod-eu is in sync again",
            .gcCompleted: "garbage collection deleted 13 versions, expired 1 draft and swept 14 blobs (4096 bytes freed)",
        ]
        #expect(Set(expected.keys) == Set(Outbox.EventType.allCases))
        func summary(_ type: String, model: String = "acme/demo", _ payload: [String: String]) -> String {
            var delivery = Self.delivery(model: model, payload: payload)
            delivery.eventType = type
            return WebhookPayload.summary(delivery)
        }
        for type in Outbox.EventType.allCases {
            #expect(summary(type.rawValue, full) == expected[type], "\(type)")
        }
        #expect(summary("alias.moved", model: "", [:]) == "someone moved the registry@an alias to a version")
        #expect(summary("promotion.refused", ["alias": "prod"]) == "promoting acme/demo a version to prod was refused")
        #expect(summary("check.reported", [:]) == "check ? reported on acme/demo a version")
        #expect(summary("model.renamed", [:]) == "model.renamed on acme/demo")
        #expect(summary("dataset.added", model: "acme/raw", ["actor": "ci", "dataset": "acme/raw", "revision": "2"]) == "ci added dataset acme/raw revision 2")
        #expect(summary("run.added", model: "acme/*", ["actor": "ci", "owner": "acme", "run": "run_1", "datasets": "acme/clean:1"])
            == "ci recorded training run acme/run_1 on acme/clean:1")
        #expect(summary("deployment.drift", ["node": "n1", "env": "prod-eu", "drift": "stale"]) == "n1 serving acme/demo in prod-eu stopped reporting")
        #expect(summary("deployment.drift", ["node": "https://a", "env": "prod-eu", "drift": "unreachable", "message": "timed out"]) == "https://a serving acme/demo in prod-eu is unreachable: timed out")
        #expect(summary("gc.completed", model: "", ["versions": "0", "drafts": "0", "blobs": "1", "bytes": "10", "sweep_skipped": "a backup is running"])
            == "garbage collection deleted 0 versions, expired 0 drafts and swept 1 blob (10 bytes freed); the sweep waited for a backup")
        #expect(summary("deployment.rolled_back", ["actor": "dana", "automatic": "false", "reason": "", "env": "prod-eu", "version": "4"]) == "dana rolled back acme/demo version 4 in prod-eu")
    }
}
