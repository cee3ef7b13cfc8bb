import Foundation
import Testing
@testable import VesselFormats

@Suite("Results, rendering and folders")
struct ScanOutputTests {
    @Test func resultsEncodeAsSnakeCaseJSONWithNulls() throws {
        let result = ScanFileResult(path: "m.pkl", format: .pytorchZip, findings: [
            ScanFinding(severity: .critical, kind: .dangerousImport, detail: "GLOBAL os.system", offset: 2, member: nil),
        ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(result), as: UTF8.self)
        #expect(json == #"{"findings":[{"detail":"GLOBAL os.system","kind":"dangerous-import","member":null,"offset":2,"severity":"critical"}],"format":"pytorch-zip","imports":[],"path":"m.pkl","verdict":"unsafe"}"#)
        #expect(try JSONDecoder().decode(ScanFileResult.self, from: Data(json.utf8)) == result)
    }

    @Test func verdictPrecedence() {
        let malformed = ScanFinding(severity: .medium, kind: .malformed, detail: "x")
        let dangerous = ScanFinding(severity: .critical, kind: .dangerousImport, detail: "y")
        let note = ScanFinding(severity: .low, kind: .unknownImport, detail: "z")
        #expect(ScanFileResult.verdict(for: []) == .safe)
        #expect(ScanFileResult.verdict(for: [note]) == .safe)
        #expect(ScanFileResult.verdict(for: [malformed]) == .invalid)
        #expect(ScanFileResult.verdict(for: [malformed, dangerous]) == .unsafe)
    }

    @Test func everyFormatHasAFamily() {
        #expect(ScanFormat.safetensors.family == .safetensors)
        #expect(ScanFormat.data.family == .data)
        for format in ScanFormat.allCases where format != .safetensors && format != .data {
            #expect(format.family == .pickle)
        }
    }

    @Test func formatPolicy() throws {
        let policy = try #require(ScanFormatPolicy(parsing: "safetensors, data"))
        #expect(policy.allows(.safetensors) && policy.allows(.data) && !policy.allows(.pytorchZip))
        #expect(ScanFormatPolicy(parsing: "safetensors,onnx") == nil)
        #expect(ScanFormatPolicy(parsing: "") == nil)
    }

    @Test func textRendering() {
        let results = [
            ScanFileResult(path: "a.pkl", format: .pickle, findings: [
                ScanFinding(severity: .critical, kind: .dangerousImport, detail: "GLOBAL os.system", offset: 2, member: "archive/data.pkl"),
            ]),
            ScanFileResult(path: "b.json", format: .data, findings: []),
        ]
        let text = ScanTextRenderer().render(results)
        #expect(text == """
            unsafe   pickle          a.pkl
                critical dangerous-import [archive/data.pkl] @2: GLOBAL os.system
            safe     data            b.json
            2 files: 1 safe, 1 unsafe, 0 invalid

            """)
    }

    @Test func foldersAreWalkedSortedAndSymlinksReported() throws {
        let first = try ScanTestSupport.temporaryFile("b.txt", ascii("hi"))
        let folder = (first as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder + "/sub", withIntermediateDirectories: true)
        try Data([0x80, 0x02, 0x4B, 0x01, 0x2E]).write(to: URL(fileURLWithPath: folder + "/sub/a.pkl"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/.gitattributes"))
        try FileManager.default.createSymbolicLink(atPath: folder + "/link.pkl", withDestinationPath: folder + "/sub/a.pkl")
        let results = ScanTestSupport.scanner().scan(paths: [folder])
        #expect(results.map { String($0.path.dropFirst(folder.count + 1)) } == ["b.txt", "link.pkl", "sub/a.pkl"])
        #expect(results.map(\.verdict) == [.safe, .invalid, .safe])
        #expect(results[1].findings.map(\.kind) == [.symlink])
        #expect(ScanTestSupport.scanner().scanFile(at: folder + "/link.pkl").verdict == .invalid)
        #expect(ScanTestSupport.scanner().scanFile(at: folder + "/missing.pkl").findings.map(\.kind) == [.unreadable])
    }
}
