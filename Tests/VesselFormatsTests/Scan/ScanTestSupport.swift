import Foundation
@testable import VesselFormats

/// Paths and helpers shared by the scanner tests.
enum ScanTestSupport {
    /// `Tests/VesselFormatsTests/Fixtures/scan`, found from this file's path.
    static let fixturesPath: String = {
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/scan").path
    }()

    /// The package root (for `data/scan-allowlist.json`).
    static let packageRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
    }()

    /// A stand-in for the real safetensors parser: a length prefix and a `{`.
    static let fakeSafetensorsChecker: ModelScanner.SafetensorsChecker = { path in
        guard let data = FileManager.default.contents(atPath: path), data.count >= 9, data[data.startIndex + 8] == UInt8(ascii: "{")
        else { return (false, "no safetensors header") }
        return (true, nil)
    }

    static func scanner(limits: ScanLimits = .default) -> ModelScanner {
        ModelScanner(safetensorsChecker: fakeSafetensorsChecker, limits: limits)
    }

    /// Runs the pickle stream scanner over in-memory bytes.
    static func analyze(_ bytes: [UInt8], limits: ScanLimits = .default) -> (report: PickleReport, problem: ScanProblem?) {
        let analyzer = PickleAnalyzer(judge: PickleImportJudge(allowlist: .reviewed), limits: limits)
        var reader = ScanByteReader(bytes: bytes)
        let outcome = PickleStreamScanner(analyzer: analyzer, limits: limits)
            .scan(&reader, member: nil, pickleCount: nil, joblibArrays: true)
        return (outcome.report, outcome.problem)
    }

    /// Writes `bytes` to a fresh temporary file named `name` (in a folder of its own) and
    /// returns its path.
    static func temporaryFile(_ name: String, _ bytes: [UInt8]) throws -> String {
        let folder = URL(fileURLWithPath: scratch).appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// One folder for every temporary file of the test process, removed when it exits (the
    /// tests never had a teardown, and every run left hundreds of folders in the temp dir).
    static let scratch: String = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-scan-tests-\(getpid())").path
        atexit { try? FileManager.default.removeItem(atPath: ScanTestSupport.scratch) }
        return folder
    }()
}

/// Byte-building shorthands for handcrafted pickles.
extension Array where Element == UInt8 {
    static func + (lhs: [UInt8], rhs: String) -> [UInt8] { lhs + Array(rhs.utf8) }
}

func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }

func sbu(_ text: String) -> [UInt8] { [0x8C, UInt8(text.utf8.count)] + ascii(text) }

func global(_ module: String, _ name: String) -> [UInt8] { ascii("c\(module)\n\(name)\n") }
