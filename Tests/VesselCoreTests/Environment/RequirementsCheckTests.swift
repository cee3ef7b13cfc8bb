import Testing
@testable import VesselCore

/// PEP 508 lines, markers, requirements files as pip writes them, pip freeze, and the check.
@Suite struct RequirementsCheckTests {
    static let linux312 = try! MarkerEnvironment(pythonVersion: "3.12", platform: .linux)

    @Test func parsesPEP508Lines() throws {
        let r = try Requirement("Transformers[Torch, sentencepiece] (>=4.35, <5) ; python_version >= \"3.9\" and (sys_platform == 'linux' or os_name == \"nt\")")
        #expect(r.name == "Transformers")
        #expect(r.normalizedName == "transformers")
        #expect(r.extras == ["Torch", "sentencepiece"])
        #expect(r.specifiers.description == ">=4.35,<5")
        #expect(r.marker?.description == "python_version >= \"3.9\" and (sys_platform == \"linux\" or os_name == \"nt\")")
        let url = try Requirement("mylib @ https://example.com/mylib-1.0.whl ; os_name == 'posix'")
        #expect(url.url == "https://example.com/mylib-1.0.whl")
        #expect(url.marker != nil)
        for bad in ["", "==1.0", "foo ==", "foo >=1.0 bar", "foo[bar", "foo (>=1.0", "foo; python_version", "foo; nonsense == '1'", "foo @", "foo >=1.0.*"] {
            #expect(throws: RequirementError.self, "\(bad)") { try Requirement(bad) }
        }
    }

    @Test func evaluatesMarkers() throws {
        let cases: [(String, String, MarkerEnvironment.Platform, Bool)] = [
            ("python_version < \"3.10\"", "3.8", .linux, true), ("python_version < \"3.10\"", "3.12", .linux, false),
            ("python_full_version >= '3.12.1'", "3.12", .linux, false), ("python_full_version >= '3.12.1'", "3.12.4", .linux, true),
            ("sys_platform == 'win32' and platform_system == 'Windows' and os_name == 'nt'", "3.12", .win32, true),
            ("sys_platform == 'darwin' or python_version == '2.7'", "3.12", .linux, false),
            ("platform_system == 'Darwin' and os_name == 'posix'", "3.11", .darwin, true),
            ("'linux' in sys_platform", "3.12", .linux, true), ("sys_platform not in 'linux darwin'", "3.12", .win32, true),
            ("python_version in '3.8 3.9'", "3.9", .linux, true), ("platform_machine == 'x86_64'", "3.12", .win32, true),
            ("extra == 'gpu'", "3.12", .linux, false), ("(python_version >= '3' or os_name == 'nt') and os_name == 'posix'", "3.12", .darwin, true),
            ("python_version == '3.*'", "3.12", .linux, true), ("sys_platform > 'a'", "3.12", .linux, false), ("sys_platform >= 'linux'", "3.12", .linux, true),
        ]
        for (text, python, platform, expected) in cases {
            let environment = try MarkerEnvironment(pythonVersion: python, platform: platform)
            #expect(try Marker(text).evaluate(in: environment) == expected, "\(text) on \(python) \(platform)")
        }
        #expect(throws: MarkerError.self) { try Marker("sys_platform ~= 'linux'").evaluate(in: Self.linux312) }
        #expect(throws: MarkerError.self) { try Marker("'x' in extras").evaluate(in: Self.linux312) }
        #expect(throws: MarkerError.self) { try MarkerEnvironment(pythonVersion: "3") }
    }

    /// Every kind of line pip takes, with what each becomes.
    @Test func readsEveryKindOfLine() throws {
        let text = """
            # a comment line

            transformers==4.35.0  # a trailing comment
            torch>=2.0 ; python_version >= "3.8"
            numpy~=1.26.0 \\
                --hash=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \\
                --hash sha512:\(String(repeating: "ab", count: 64))
            Foo.Bar[extra] (>=1,<2)
            -r base.txt
            --requirement=other.txt
            -c constraints.txt
            -e git+https://github.com/org/repo.git#egg=repo
            --index-url https://pypi.org/simple
            -i https://mirror.example/simple
            --extra-index-url=https://extra.example/simple
            --no-index
            --pre
            mylib @ https://example.com/mylib-1.0.whl
            ./wheels/local-1.0-py3-none-any.whl
            https://example.com/pkg-2.0.tar.gz
            url#fragment==1.0  # not a comment: '#' without whitespace before it

            """
        let file = try? RequirementsFile(text: text, fileName: "requirements.txt")
        #expect(file == nil, "'url#fragment==1.0' is not a requirement")
        let good = try RequirementsFile(text: text.replacingOccurrences(of: "url#fragment==1.0  # not a comment: '#' without whitespace before it\n", with: ""), fileName: "requirements.txt")
        let summary = good.entries.map { "\($0.line):\($0.kind.rawValue):\($0.requirement?.name ?? "-")" }
        #expect(summary == [
            "3:requirement:transformers", "4:requirement:torch", "5:requirement:numpy", "8:requirement:Foo.Bar",
            "9:reference:-", "10:reference:-", "11:reference:-", "12:reference:-", "13:option:-", "14:option:-",
            "15:option:-", "16:option:-", "17:option:-", "18:requirement:mylib", "19:reference:-", "20:reference:-",
        ])
        #expect(good.entries[2].hashes.count == 2)
        #expect(good.entries[2].requirement?.specifiers.description == "~=1.26.0")
    }

    @Test(arguments: [
        ("ok==1\nfoo bar\n", 2), ("ok==1\n--frobnicate\n", 2), ("x==1 --hash=md5:abcd\n", 1), ("x==1 --hash=sha256:abc\n", 1),
        ("\n\nfoo>=1.0.*\n", 3), ("x==1 -r other.txt\n", 1), ("-r\n", 1), ("continued==1 \\\n  bad stuff\n", 1), ("--pre now\n", 1),
    ])
    func refusesOtherLinesNamingFileAndLine(_ text: String, _ line: Int) {
        #expect {
            try RequirementsFile(text: text, fileName: "model/requirements.txt")
        } throws: { error in
            guard let error = error as? RequirementsFileError else { return false }
            return error.fileName == "model/requirements.txt" && error.line == line && error.description.hasPrefix("model/requirements.txt:\(line): ")
        }
    }

    @Test func readsPipFreeze() throws {
        let freeze = try InstalledPackages(freeze: """
            # Editable install with no version control (local==0.1)
            -e /src/local
            -e git+https://github.com/org/repo.git@abc#egg=repo
            Transformers==4.30.0
            legacy===2004d
            mylib @ file:///tmp/mylib-1.0.whl
            ruamel.yaml==0.18.5

            """, fileName: "freeze.txt")
        #expect(freeze.package(named: "transformers")?.version == "4.30.0")
        #expect(freeze.package(named: "ruamel-yaml")?.version == "0.18.5")
        #expect(freeze.package(named: "legacy")?.version == "2004d")
        #expect(freeze.package(named: "repo") != nil && freeze.package(named: "repo")?.version == nil)
        #expect(freeze.package(named: "mylib")?.version == nil)
        #expect(throws: RequirementsFileError.self) { try InstalledPackages(freeze: "ok==1\nnot a freeze line\n", fileName: "f") }
    }

    /// The seed's case: v2 needs transformers 4.35, the container has 4.30.
    @Test func theSeedsCase() throws {
        let freeze = try InstalledPackages(freeze: "transformers==4.30.0\n", fileName: "freeze.txt")
        let pinned = try RequirementsFile(text: "transformers==4.35.0\n", fileName: "requirements.txt")
        let report = try EnvironmentCheck.check(pinned, against: freeze, in: Self.linux312)
        #expect(!report.compatible)
        #expect(report.findings[0].verdict == .wrongVersion)
        #expect(report.findings[0].installed == "4.30.0")
        #expect(report.findings[0].reason.contains("4.35.0") && report.findings[0].reason.contains("4.30.0"))

        let compatible = try RequirementsFile(text: "transformers~=4.35.0\n", fileName: "requirements.txt")
        let newer = try InstalledPackages(freeze: "transformers==4.35.2\n", fileName: "freeze.txt")
        #expect(try EnvironmentCheck.check(compatible, against: newer, in: Self.linux312).compatible)
    }

    @Test func verdictsAndStrictness() throws {
        let file = try RequirementsFile(text: """
            present>=1.0
            absent
            pre>=2.0
            win-only ; sys_platform == "win32"
            -r other.txt
            """, fileName: "r.txt")
        let freeze = try InstalledPackages(freeze: "present==1.2\npre==2.1rc1\n", fileName: "f.txt")
        let report = try EnvironmentCheck.check(file, against: freeze, in: Self.linux312)
        #expect(report.findings.map(\.verdict) == [.satisfied, .missing, .satisfied, .skipped, .unchecked])
        #expect(!report.compatible)
        let withoutMissing = try RequirementsFile(text: "present>=1.0\n-r other.txt\n", fileName: "r.txt")
        #expect(try EnvironmentCheck.check(withoutMissing, against: freeze, in: Self.linux312).compatible)
        #expect(try !EnvironmentCheck.check(withoutMissing, against: freeze, in: Self.linux312, strict: true).compatible)
        let onWindows = try MarkerEnvironment(pythonVersion: "3.11", platform: .win32)
        #expect(try EnvironmentCheck.check(file, against: freeze, in: onWindows).findings[3].verdict == .missing)
    }
}
