import Foundation
import Testing
import VesselTestSupport

/// `vessel env check` as a user runs it: verdicts, exit codes, `--json`, `--strict`, and bad
/// lines named by file and line.
@Suite struct EnvCheckCLITests {
    static func write(_ files: [String: String]) throws -> String {
        let folder = TempDir.make("vessel-envcheck")
        for (name, text) in files { try text.write(toFile: "\(folder)/\(name)", atomically: true, encoding: .utf8) }
        return folder
    }

    @Test func theSeedsCaseNamesBothVersions() async throws {
        let folder = try Self.write(["requirements.txt": "transformers==4.35.0\n", "freeze.txt": "transformers==4.30.0\n"])
        let wrong = try await CLI.run(["env", "check", folder, "--freeze", "\(folder)/freeze.txt"])
        #expect(wrong.status == 1, "\(wrong.stdout)\(wrong.stderr)")
        #expect(wrong.stdout.contains("4.35.0") && wrong.stdout.contains("4.30.0") && wrong.stdout.contains("incompatible"))
        let json = try await CLI.run(["env", "check", "\(folder)/requirements.txt", "--freeze", "\(folder)/freeze.txt", "--json"])
        let object = try json.json()
        #expect(object["compatible"] as? Bool == false)
        let finding = (object["findings"] as? [[String: Any]])?.first
        #expect(finding?["verdict"] as? String == "wrong_version")
        #expect(finding?["installed"] as? String == "4.30.0")
        #expect(finding?["required"] as? String == "==4.35.0")

        let good = try Self.write(["requirements.txt": "transformers~=4.35.0\n", "freeze.txt": "transformers==4.35.2\n"])
        let ok = try await CLI.run(["env", "check", good, "--freeze", "\(good)/freeze.txt"])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("compatible"))
    }

    @Test func everyKindOfLineMarkersAndStrict() async throws {
        let folder = try Self.write([
            "requirements.txt": """
                # comment
                torch>=2.0 ; python_version >= "3.8"
                pywin32>=300 ; sys_platform == "win32"
                numpy~=1.26.0 \\
                    --hash=sha256:\(String(repeating: "ab", count: 32))
                -r base.txt
                --index-url https://pypi.org/simple
                mylib @ https://example.com/mylib-1.0.whl

                """,
            "freeze.txt": "torch==2.1.0\nnumpy==1.26.4\nmylib @ file:///tmp/mylib-1.0.whl\n",
        ])
        let linux = try await CLI.run(["env", "check", folder, "--freeze", "\(folder)/freeze.txt", "--json"])
        #expect(linux.status == 0, "\(linux.stdout)\(linux.stderr)")
        let verdicts = (try linux.json()["findings"] as? [[String: Any]])?.map { $0["verdict"] as? String ?? "?" }
        #expect(verdicts == ["satisfied", "skipped", "satisfied", "unchecked", "unchecked", "unchecked"])
        let strict = try await CLI.run(["env", "check", folder, "--freeze", "\(folder)/freeze.txt", "--strict"])
        #expect(strict.status == 1)
        let windows = try await CLI.run(["env", "check", folder, "--freeze", "\(folder)/freeze.txt", "--platform", "win32", "--python-version", "3.11"])
        #expect(windows.status == 1, "pywin32 is missing on Windows: \(windows.stdout)")
        #expect(windows.stdout.contains("missing"))
        let old = try await CLI.run(["env", "check", folder, "--freeze", "\(folder)/freeze.txt", "--python-version", "3.9", "--json"])
        #expect((try old.json()["findings"] as? [[String: Any]])?.first?["verdict"] as? String == "satisfied")
        let py2 = try await CLI.run(["env", "check", folder, "--freeze", "\(folder)/freeze.txt", "--python-version", "2.7", "--json"])
        #expect((try py2.json()["findings"] as? [[String: Any]])?.first?["verdict"] as? String == "skipped")
    }

    @Test func badInputExitsWithItsCode() async throws {
        let folder = try Self.write([
            "requirements.txt": "torch>=2.0\n\nfoo bar baz\n",
            "freeze.txt": "torch==2.1.0\n",
            "badfreeze.txt": "torch==2.1.0\nwhat is this\n",
            "good.txt": "torch\n",
        ])
        let bad = try await CLI.run(["env", "check", "\(folder)/requirements.txt", "--freeze", "\(folder)/freeze.txt"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("requirements.txt:3:"), "\(bad.stderr)")
        let badJSON = try await CLI.run(["env", "check", "\(folder)/requirements.txt", "--freeze", "\(folder)/freeze.txt", "--json"])
        #expect(badJSON.status == 2)
        #expect(try badJSON.errorCode() == "invalid_argument")
        let badFreeze = try await CLI.run(["env", "check", "\(folder)/good.txt", "--freeze", "\(folder)/badfreeze.txt"])
        #expect(badFreeze.status == 2)
        #expect(badFreeze.stderr.contains("badfreeze.txt:2:"), "\(badFreeze.stderr)")
        let missing = try await CLI.run(["env", "check", "\(folder)/nope.txt", "--freeze", "\(folder)/freeze.txt"])
        #expect(missing.status == 3)
        let platform = try await CLI.run(["env", "check", "\(folder)/good.txt", "--freeze", "\(folder)/freeze.txt", "--platform", "beos"])
        #expect(platform.status == 64)
    }
}
