import Foundation

/// The built `vessel` binary: the one way every process-level test finds it.
public enum VesselExecutable {
    /// Where SwiftPM put it: beside the test bundle (`.build/<triple>/<config>/`), else
    /// `.build/debug/vessel` under the package; nil when neither was built.
    public static let path: String? = {
        let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let beside = URL(fileURLWithPath: bundle).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("vessel").path
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let fallback = packageRoot.appendingPathComponent(".build/debug/vessel").path
        return [beside, fallback].first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// `path`, or a failure that says the binary was not built.
    public static func require() throws -> String {
        guard let path else { throw TestFailure("the vessel executable is not built next to the tests (swift build --build-tests)") }
        return path
    }
}
