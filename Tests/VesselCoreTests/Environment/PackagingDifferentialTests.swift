import Foundation
import Testing
import VesselTestSupport
@testable import VesselCore

/// Where the differential tests find Python (outside the suite: its trait cannot refer to it).
enum PackagingOracle {
    static let python = ProcessInfo.processInfo.environment["VESSEL_TEST_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/packaging_oracle.py").path

    /// Every case answered by one `scripts/packaging_oracle.py` process, in order (through the
    /// tests' one process runner: no pool thread blocked, no pipe to fill, a time limit).
    static func answers(_ cases: [[String: String]]) async throws -> [[String: Any]] {
        var lines = Data()
        for item in cases {
            lines.append(try JSONSerialization.data(withJSONObject: item, options: [.sortedKeys]))
            lines.append(0x0A)
        }
        let result = try await runProcess(python ?? "/usr/bin/python3", [script], stdin: String(decoding: lines, as: UTF8.self))
        guard result.status == 0 else {
            throw OracleFailure(description: "packaging_oracle.py failed: \(result.stderr)")
        }
        let answers = try result.stdout.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
        guard answers.count == cases.count else { throw OracleFailure(description: "\(cases.count) cases, \(answers.count) answers") }
        return answers
    }

    struct OracleFailure: Error, CustomStringConvertible { let description: String }
}

/// Vessel against Python's `packaging` (the version pinned in scripts/requirements-test.txt)
/// on cases generated from a fixed seed: versions and their normal forms, their order,
/// `SpecifierSet(spec, prereleases=True).contains(version)` and marker evaluation. Runs when
/// `VESSEL_TEST_PYTHON` names a Python with `packaging`; scripts/test always sets it and fails
/// CI when it is missing, so a skip is visible.
@Suite(.enabled(if: PackagingOracle.python != nil, "VESSEL_TEST_PYTHON is not set: differential tests against packaging skipped"))
struct PackagingDifferentialTests {
    static let seed: UInt64 = 0x2025_0440_0508

    @Test func specifierSetsAgreeWithPackaging() async throws {
        var generator = PEP440CaseGenerator(seed: Self.seed)
        let cases = (0..<12_000).map { _ in generator.containsCase() }
        let answers = try await PackagingOracle.answers(cases.map { ["op": "contains", "spec": $0.spec, "version": $0.version] })
        var mismatches: [String] = []
        var admitted = 0
        var invalid = 0
        for (item, answer) in zip(cases, answers) {
            let ours: String
            if let set = try? SpecifierSet(item.spec) {
                let contains = set.contains(item.version)
                if contains { admitted += 1 }
                ours = contains ? "true" : "false"
            } else {
                invalid += 1
                ours = "invalid"
            }
            let theirs = answer["invalid"] != nil ? "invalid" : ((answer["result"] as? Bool) == true ? "true" : "false")
            if ours != theirs { mismatches.append("'\(item.version)' in '\(item.spec)': vessel \(ours), packaging \(theirs)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(cases.count) differ, e.g.:\n\(mismatches.prefix(15).joined(separator: "\n"))")
        // The generator must exercise both answers and refusals, or agreeing proves little.
        #expect(admitted > 2_000 && cases.count - admitted - invalid > 2_000 && invalid > 100, "admitted \(admitted), invalid \(invalid)")
    }

    @Test func versionsNormalizeAndOrderAsPackaging() async throws {
        var generator = PEP440CaseGenerator(seed: Self.seed &+ 1)
        let texts = (0..<3_000).map { _ in generator.versionText(messy: true) }
        let pairs = (0..<3_000).map { _ in (generator.versionText(messy: false), generator.versionText(messy: false)) }
        let answers = try await PackagingOracle.answers(texts.map { ["op": "version", "text": $0] } + pairs.map { ["op": "compare", "a": $0.0, "b": $0.1] })
        var mismatches: [String] = []
        for (text, answer) in zip(texts, answers) {
            let ours = PythonVersion.parse(text)?.description
            if ours != answer["normal"] as? String { mismatches.append("'\(text)': vessel \(ours ?? "invalid"), packaging \(answer["normal"] as? String ?? "invalid")") }
        }
        for ((a, b), answer) in zip(pairs, answers.dropFirst(texts.count)) {
            let ours = try PythonVersion.compare(PythonVersion(a), PythonVersion(b))
            if ours != answer["order"] as? Int { mismatches.append("\(a) vs \(b): vessel \(ours), packaging \(answer["order"] ?? "?")") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) differ, e.g.:\n\(mismatches.prefix(15).joined(separator: "\n"))")
    }

    @Test func markersEvaluateAsPackaging() async throws {
        var generator = MarkerCaseGenerator(seed: Self.seed &+ 2)
        let pythons = ["2.7", "3.6", "3.8", "3.9", "3.10", "3.11", "3.12", "3.12.4", "3.13.0", "4.0"]
        let platforms = MarkerEnvironment.Platform.allCases
        let cases = (0..<10_000).map { i in (generator.marker(), pythons[i % pythons.count], platforms[(i / pythons.count) % platforms.count]) }
        let answers = try await PackagingOracle.answers(cases.map { ["op": "marker", "marker": $0.0, "python": $0.1, "platform": $0.2.rawValue] })
        var mismatches: [String] = []
        var counts: [String: Int] = [:]
        for (item, answer) in zip(cases, answers) {
            let ours: String
            do {
                let marker = try Marker(item.0)
                do {
                    ours = try marker.evaluate(in: MarkerEnvironment(pythonVersion: item.1, platform: item.2)) ? "true" : "false"
                } catch {
                    ours = "error"
                }
            } catch {
                ours = "invalid"
            }
            let theirs = answer["invalid"] != nil ? "invalid" : answer["error"] != nil ? "error" : ((answer["result"] as? Bool) == true ? "true" : "false")
            counts[theirs, default: 0] += 1
            if ours != theirs { mismatches.append("\(item.0) [\(item.1) \(item.2)]: vessel \(ours), packaging \(theirs)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(cases.count) differ, e.g.:\n\(mismatches.prefix(15).joined(separator: "\n"))")
        #expect((counts["true"] ?? 0) > 1_500 && (counts["false"] ?? 0) > 1_500 && (counts["error"] ?? 0) > 100, "\(counts)")
    }

    @Test func requirementsParseAsPackaging() async throws {
        var generator = MarkerCaseGenerator(seed: Self.seed &+ 3)
        var specs = PEP440CaseGenerator(seed: Self.seed &+ 4)
        let lines = (0..<2_000).map { _ in generator.requirementLine(specifier: specs.containsCase().spec) }
        let answers = try await PackagingOracle.answers(lines.map { ["op": "requirement", "text": $0] })
        var mismatches: [String] = []
        for (line, answer) in zip(lines, answers) {
            let ours = try? Requirement(line)
            if (ours == nil) != (answer["invalid"] != nil) {
                mismatches.append("'\(line)': vessel \(ours == nil ? "invalid" : "valid"), packaging \(answer["invalid"] != nil ? "invalid" : "valid")")
                continue
            }
            guard let ours else { continue }
            let theirs = (answer["extras"] as? [String]) ?? []
            if ours.name != answer["name"] as? String || ours.extras.sorted() != theirs || ours.url != answer["url"] as? String {
                mismatches.append("'\(line)': parts differ: \(ours.name) \(ours.extras) vs \(answer)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) differ, e.g.:\n\(mismatches.prefix(15).joined(separator: "\n"))")
    }
}
