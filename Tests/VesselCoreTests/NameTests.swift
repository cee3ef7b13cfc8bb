import Testing
@testable import VesselCore

@Suite struct NameTests {
    @Test(arguments: ["acme/m", "a/b", "0x/y.z_-1", "acme/" + String(repeating: "a", count: 64)])
    func acceptsValidModelNames(_ text: String) throws {
        let name = try ModelName(text)
        #expect(name.description == text)
    }

    @Test(arguments: ["acme", "acme/", "/m", "Acme/m", "acme/M", "acme/-m", "acme/.m", "a/b/c", "acme/m m", "acme/" + String(repeating: "a", count: 65), "acme/é"])
    func rejectsInvalidModelNames(_ text: String) {
        #expect(throws: VesselError.self) { try ModelName(text) }
        do { _ = try ModelName(text) } catch { #expect(error.code == .invalidArgument) }
    }

    @Test(arguments: ["production", "a", "stage-2", "v1.0_rc"])
    func acceptsAliases(_ text: String) throws {
        #expect(try AliasName(text).value == text)
    }

    @Test(arguments: ["", "1prod", "Prod", "-x", "a b", String(repeating: "a", count: 65)])
    func rejectsAliases(_ text: String) {
        #expect(throws: VesselError.self) { try AliasName(text) }
    }

    @Test func parsesReferences() throws {
        #expect(try Reference("acme/m").selector == .latest)
        #expect(try Reference("acme/m:12").selector == .version(12))
        #expect(try Reference("acme/m@production").selector == .alias(try AliasName("production")))
        #expect(try Reference("acme/m@production").description == "acme/m@production")
        for bad in ["acme/m:0", "acme/m:-1", "acme/m:01", "acme/m:x", "acme/m@", "acme/m:", "acme/m@Prod"] {
            #expect(throws: VesselError.self, "\(bad)") { try Reference(bad) }
        }
    }

    @Test func digestsRoundTrip() throws {
        let hex = String(repeating: "ab", count: 32)
        let digest = try Digest("sha256:" + hex)
        #expect(digest.hex == hex)
        #expect(Digest(bytes: digest.bytes) == digest)
        #expect(digest.description == "sha256:" + hex)
        for bad in [hex, "sha256:" + hex.uppercased(), "sha256:" + hex.dropLast(), "md5:" + hex, "sha256:" + hex + "0"] {
            #expect(throws: VesselError.self, "\(bad)") { try Digest(String(bad)) }
        }
    }
}

@Suite struct ManifestTests {
    func entry(_ path: String, _ byte: UInt8 = 1) -> ManifestEntry {
        ManifestEntry(path: path, size: 1, digest: Digest(bytes: [UInt8](repeating: byte, count: 32)))
    }

    @Test(arguments: ["/etc/passwd", "a/../b", "..", "./a", "a//b", "a/", "a\\b", "a\u{0}b", ".git/config", "x/.vessel.json", ""])
    func rejectsUnsafePaths(_ path: String) {
        #expect(throws: VesselError.self) { try Manifest(entries: [entry(path)]) }
    }

    @Test func rejectsDuplicatePaths() {
        #expect(throws: VesselError.self) { try Manifest(entries: [entry("a"), entry("b"), entry("a", 2)]) }
    }

    @Test func sortsComponentWiseByUTF8Bytes() throws {
        // Component by component, as model-signing does: "a/b" before "a-b" ('/' ends the
        // component "a"), "tok/v.txt" before "tok.json"; bytes otherwise ("Z" < "a" < "é").
        let manifest = try Manifest(entries: [entry("é"), entry("a-b"), entry("tok.json"), entry("a/b"), entry("Z"), entry("tok/v.txt")])
        #expect(manifest.entries.map(\.path) == ["Z", "a/b", "a-b", "tok/v.txt", "tok.json", "é"])
    }
}

@Suite struct ErrorTableTests {
    @Test func conventionsTable() {
        let expected: [(ErrorCode, Int, Int32)] = [
            (.notFound, 404, 3), (.unauthenticated, 401, 4), (.forbidden, 403, 4), (.preconditionFailed, 412, 5),
            (.alreadyExists, 409, 5), (.digestMismatch, 422, 2), (.invalidArgument, 400, 2), (.quarantined, 409, 1),
            (.insufficientStorage, 507, 6),
        ]
        for (code, status, exit) in expected {
            #expect(code.httpStatus == status, "\(code)")
            #expect(code.exitCode == exit, "\(code)")
        }
    }

    @Test func codesAreSnakeCase() {
        for code in ErrorCode.allCases {
            #expect(code.rawValue.allSatisfy { $0.isLowercase || $0 == "_" }, "\(code.rawValue)")
        }
    }

    @Test func durations() throws {
        #expect(try Timestamp.parseDuration("30d") == 30 * 86_400)
        #expect(try Timestamp.parseDuration("90m") == 5_400)
        for bad in ["", "d", "0d", "-1d", "10y", "99999999999999d"] {
            #expect(throws: VesselError.self, "\(bad)") { try Timestamp.parseDuration(bad) }
        }
        #expect(Timestamp.rfc3339(micros: 1_700_000_000_123_456) == "2023-11-14T22:13:20.123Z")
    }
}
