import Foundation
import Testing
@testable import VesselCore

@Suite struct ErrorTableDocTests {
    /// docs/errors.md lists every code with its HTTP status and exit code.
    @Test func docsMatchTheTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/errors.md"), encoding: .utf8)
        for code in ErrorCode.allCases {
            #expect(text.contains("| `\(code.rawValue)` | \(code.httpStatus) | \(code.exitCode) |"), "docs/errors.md lacks or misstates \(code.rawValue)")
        }
    }
}
