import Testing
import VesselCore

/// The rules a manifest enforces whatever builds it (the server's drafts, the pusher's
/// folder walk): issue 21, item 11.
@Suite struct ManifestRulesTests {
    static func entry(_ path: String, size: UInt64 = 1) -> ManifestEntry {
        ManifestEntry(path: path, size: size, digest: try! Digest("sha256:" + String(repeating: "a", count: 64)))
    }

    @Test(arguments: [["a", "a/b"], ["a/b/c", "a/b"], ["x/y", "x", "x-y"], ["m/n/o/p", "m"]])
    func aFileAndAFolderOfTheSameNameAreRefused(_ paths: [String]) {
        #expect(throws: VesselError.self) { try Manifest(entries: paths.map { Self.entry($0) }) }
    }

    @Test func siblingsSharingAPrefixAreFine() throws {
        let manifest = try Manifest(entries: ["a", "a-b", "ab/c", "a.txt", "b/a"].map { Self.entry($0) })
        #expect(manifest.entries.count == 5)
    }

    @Test func sizesAboveInt64MaxAreRefused() throws {
        _ = try Manifest(entries: [Self.entry("a", size: UInt64(Int64.max))])
        #expect(throws: VesselError.self) { try Manifest(entries: [Self.entry("a", size: UInt64(Int64.max) + 1)]) }
        #expect(throws: VesselError.self) { try Manifest(entries: [Self.entry("a", size: .max)]) }
        let half = UInt64(Int64.max) / 2 + 1
        #expect(throws: VesselError.self) { try Manifest(entries: [Self.entry("a", size: half), Self.entry("b", size: half)]) }
    }

    @Test func limitsNameTheFieldAndTheLimit() {
        #expect(throws: VesselError.invalidArgument("description is 16385 bytes long; the limit is 16384 bytes (16 KiB)")) {
            try Limits.check(String(repeating: "x", count: 16385), field: "description", max: Limits.description)
        }
        #expect(throws: Never.self) { try Limits.check(String(repeating: "x", count: 16384), field: "description", max: Limits.description) }
        #expect(throws: Never.self) { try Limits.check(nil, field: "description", max: Limits.description) }
    }
}
