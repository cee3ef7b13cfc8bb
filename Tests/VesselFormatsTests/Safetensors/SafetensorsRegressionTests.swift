import Foundation
import Testing
@testable import VesselFormats

/// Inputs kept in Fixtures/safetensors/regressions. Each file is named
/// `<description>.<expected_code>.bin` (or `.ok.bin` when it must parse); each gets its own
/// test case through the argument list.
@Suite struct SafetensorsRegressionTests {
    static func fixtureNames() -> [String] {
        let directory = SafetensorsTestFile.fixturesDirectory() + "/regressions"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".bin") }.sorted()
    }

    @Test(arguments: fixtureNames())
    func regressionInput(name: String) throws {
        let bytes = try SafetensorsTestFile.fixture("regressions/" + name)
        let parts = name.split(separator: ".")
        let expected = parts.count >= 3 ? String(parts[parts.count - 2]) : ""
        let actual = SafetensorsTestFile.errorCode(bytes) ?? "ok"
        #expect(actual == expected)
    }

    @Test func regressionFolderIsNotEmpty() {
        #expect(!Self.fixtureNames().isEmpty)
    }
}
