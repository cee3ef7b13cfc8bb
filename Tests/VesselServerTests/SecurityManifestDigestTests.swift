import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VesselCore
@testable import VesselServer

/// Passed checks must not carry over to a different file layout (issue 21, "Security": item
/// 5). A version's `digest` covers the files' bytes in path order but not their names, so a
/// version holding the same blobs under other names, in the same path order, had the same
/// digest and inherited the first one's passed checks: the bad config, moved to
/// `config.json`, was promoted. Checks are
/// now keyed by `manifest_digest` (paths, sizes and digests). Every case here failed before
/// its fix; the suite stays.
@Suite struct SecurityManifestDigestTests {
    static let good: [UInt8] = Array("{\"safe\": true}".utf8)
    static let bad: [UInt8] = Array("{\"safe\": false, \"trust_remote_code\": true}".utf8)

    @Test func renamedFilesDoNotInheritChecksButTheSameLayoutDoes() async throws {
        try await APIHarness.with { harness, client in
            let dev = try await harness.principal("dev", .contributor, scope: "acme/*")
            try await APIHarness.protect(client, ProtectRequest(scope: "acme/*", alias: "production", role: .maintainer, requireApproval: false,
                                                                gates: ["check:eval", "metric:accuracy>=0.9"]))
            let v1 = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.good, "rejected/config.json": Self.bad], as: dev)
            let reported = try await client.execute(uri: "/api/v1/models/acme/m/versions/1/checks", method: .post, headers: APIHarness.auth,
                                                    body: APIHarness.json(CheckReportRequest(name: "eval", status: "passed", metrics: ["accuracy": 0.95], url: nil))) { $0 }
            #expect(try APIHarness.decode(CheckInfo.self, reported).manifestDigest == v1.manifestDigest)

            // The same two blobs under other names, still in the same path order: the bad config
            // is now the one loaded, yet the blob digests in path order — the digest — are equal.
            let v2 = try await APIHarness.push(client, model: "acme/m", files: ["backup/config.json": Self.good, "config.json": Self.bad], as: dev)
            #expect(v2.digest == v1.digest)
            #expect(v2.manifestDigest != v1.manifestDigest)
            #expect(v1.manifestDigest == (try Manifest(entries: try #require(v1.manifest)).manifestDigest))
            let refused = try await APIHarness.promote(client, APIHarness.auth, version: 2, to: "production")
            #expect(refused.status == .refused)
            #expect(refused.failures.map(\.rule) == ["check:eval", "metric:accuracy>=0.9"], "\(refused.failures)")

            // The same names and blobs as v1: the same content, so v1's checks count (documented).
            let v3 = try await APIHarness.push(client, model: "acme/m", files: ["config.json": Self.good, "rejected/config.json": Self.bad], as: dev)
            #expect(v3.digest == v1.digest)
            #expect(v3.manifestDigest == v1.manifestDigest)
            #expect(try await APIHarness.promote(client, APIHarness.auth, version: 3, to: "production").status == .applied)
        }
    }
}

extension SecurityManifestDigestTests {
    /// The canonical encoding of docs/api.md, byte for byte, and its SHA-256, worked out by hand:
    /// `printf 'vessel-manifest-v1\npath=11:mod\xc3\xa8le.bin\nsize=3\ndigest=sha256:ba78…15ad\n`
    /// `path=19:tokenizer/vocab.txt\nsize=0\ndigest=sha256:e3b0…b855\n`
    /// `path=14:tokenizer.json\nsize=2\ndigest=sha256:4413…ff8a\n' | sha256sum`.
    /// The entries are given out of order: manifest order (decision 0001) puts
    /// `tokenizer/vocab.txt` before `tokenizer.json`, and a path's length counts UTF-8 bytes.
    @Test func theCanonicalEncodingMatchesTheDocumentedBytes() throws {
        let abc = try Digest("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let empty = try Digest("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let braces = try Digest("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        let manifest = try Manifest(entries: [
            ManifestEntry(path: "tokenizer.json", size: 2, digest: braces),
            ManifestEntry(path: "tokenizer/vocab.txt", size: 0, digest: empty),
            ManifestEntry(path: "mod\u{E8}le.bin", size: 3, digest: abc),
        ])
        let expected = "vessel-manifest-v1\n"
            + "path=11:mod\u{E8}le.bin\nsize=3\ndigest=sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
            + "path=19:tokenizer/vocab.txt\nsize=0\ndigest=sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            + "path=14:tokenizer.json\nsize=2\ndigest=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\n"
        #expect(manifest.canonicalEncoding == Array(expected.utf8))
        #expect(manifest.manifestDigest.description == "sha256:09c44ba21c1787a5d3b6929dd2d1c23ba734b54ca3baa1ffd70f21df13091940")
        // An empty manifest is the header alone: `printf 'vessel-manifest-v1\n' | sha256sum`.
        #expect(Manifest.manifestDigest(ofOrdered: []).description == "sha256:30afc6ccb27bceb48a9f574e26fd597a54c1f983987648d6acf528e619145b98")
        // Renaming a file changes it; the root digest (file digests in path order) would not.
        let renamed = try Manifest(entries: manifest.entries.map { ManifestEntry(path: "x/" + $0.path, size: $0.size, digest: $0.digest) })
        #expect(renamed.manifestDigest != manifest.manifestDigest)
    }
}
