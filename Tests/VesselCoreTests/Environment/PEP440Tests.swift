import Testing
@testable import VesselCore

/// PEP 440's own examples: its normalization rules, its order, and its specifier examples.
@Suite struct PEP440Tests {
    /// Every normalization rule of PEP 440 ("Normalization"), spelled as the PEP spells it.
    @Test(arguments: [
        ("1.1RC1", "1.1rc1"), ("00", "0"), ("09000", "9000"), ("1.0+foo0100", "1.0+foo0100"),
        ("1.1.a1", "1.1a1"), ("1.1-a1", "1.1a1"), ("1.1_a1", "1.1a1"), ("1.0a.1", "1.0a1"),
        ("1.1alpha1", "1.1a1"), ("1.1beta2", "1.1b2"), ("1.1c3", "1.1rc3"), ("1.1pre3", "1.1rc3"), ("1.1preview3", "1.1rc3"),
        ("1.2a", "1.2a0"), ("1.2-post2", "1.2.post2"), ("1.2post2", "1.2.post2"), ("1.2.post.2", "1.2.post2"),
        ("1.2-post-2", "1.2.post2"), ("1.0-r4", "1.0.post4"), ("1.0-rev4", "1.0.post4"), ("1.2.post", "1.2.post0"),
        ("1.0-1", "1.0.post1"), ("1.2-dev2", "1.2.dev2"), ("1.2dev2", "1.2.dev2"), ("1.2.dev", "1.2.dev0"),
        ("1.0+ubuntu-1", "1.0+ubuntu.1"), ("1.0+ubuntu_1", "1.0+ubuntu.1"), ("v1.0", "1.0"), ("V1.0", "1.0"),
        (" 1.0\n", "1.0"), ("1!2.0", "1!2.0"), ("0!1.0", "1.0"), ("1.0+AbC.01", "1.0+abc.1"),
        ("1.0a.", "1.0a0"), ("1.0.post.", "1.0.post0"),
    ])
    func normalizes(_ input: String, _ normal: String) throws {
        #expect(try PythonVersion(input).description == normal)
    }

    @Test(arguments: ["", "1.0-", "1.0_1", "1..0", ".1", "1.0+", "1.0+a..b", "a1.0", "1.0 a1", "1.0.", "1.0+_a", "99999999999999999999"])
    func refuses(_ input: String) {
        #expect(PythonVersion.parse(input) == nil, "\(input) parsed")
    }

    /// The order of PEP 440's summary example, each version below the next.
    @Test func ordersAsThePEPSummary() throws {
        let ordered = try [
            "1.dev0", "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2",
            "1.0b2.post345.dev456", "1.0b2.post345", "1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7",
            "1.0+5", "1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1", "1!0.1",
        ].map { try PythonVersion($0) }
        for (a, b) in zip(ordered, ordered.dropFirst()) {
            #expect(a < b, "\(a) < \(b)")
            #expect(!(b < a))
        }
        #expect(try PythonVersion("1.0") == PythonVersion("1.0.0.0"))
        #expect(try PythonVersion("1.0").hashValue == PythonVersion("1.0.0").hashValue)
        #expect(try PythonVersion("1.0+a") != PythonVersion("1.0"))
    }

    /// (specifier set, version, admitted) from PEP 440's "Version specifiers", pre-releases admitted.
    @Test(arguments: [
        ("~=2.2", "2.3", true), ("~=2.2", "3.0", false), ("~=2.2", "2.1", false),
        ("~=1.4.5", "1.4.9", true), ("~=1.4.5", "1.5.0", false), ("~=2.2.post3", "2.2.post4", true), ("~=2.2.post3", "2.2", false),
        ("~=1.4.5a4", "1.4.5", true), ("~=1.4.5a4", "1.4.5a3", false), ("~=1.4.5a4", "1.5.dev0", false),
        ("==1.1.post1", "1.1.post1", true), ("==1.1", "1.1.post1", false), ("==1.1.*", "1.1.post1", true),
        ("==1.1.0", "1.1", true), ("==1.1", "1.1.0", true), ("==1.1.*", "1.2", false), ("==1.*", "1.9.3", true),
        ("!=1.1.*", "1.1.5", false), ("!=1.1.*", "1.2", true), ("!=1.1", "1.1.post1", true),
        (">1.7", "1.7.1", true), (">1.7", "1.7.0.post1", false), (">1.7", "1.7+local", false),
        (">1.7.post2", "1.7.1", true), (">1.7.post2", "1.7.0.post3", true), (">1.7.post2", "1.7.0", false),
        ("<1.7", "1.7.0a1", false), ("<1.7", "1.6.9", true), ("<1.7rc1", "1.7.0a1", true), ("<1.7", "1.7.dev1", false),
        (">=1.0", "1.0+local", true), ("<=1.0", "1.0+local", true), ("==1.0", "1.0+local", true),
        ("==1.0+local", "1.0", false), ("==1.0+local", "1.0+local", true), ("!=1.0+local", "1.0+other", true),
        (">=1.0", "1.1a1", true), ("===1.0", "1.0", true), ("===1.0", "1.0.0", false), ("===foobar", "FooBar", true),
        ("", "anything", true), (">=1.0,<2.0", "1.5", true), (">=1.0,<2.0", "2.0", false), (">1.0,!=1.5.*", "1.5.1", false),
        ("==1!1.0", "1.0", false), ("==1!1.*", "1!1.2", true), (">=1.0", "not a version", false),
    ])
    func specifierExamples(_ spec: String, _ version: String, _ admitted: Bool) throws {
        #expect(try SpecifierSet(spec).contains(version) == admitted, "\(version) in '\(spec)'")
    }

    @Test(arguments: [">=1.0.*", "~=1", "<1.0+local", "==1.0a1.*", "=1.0", "1.0", ">= 1.0 2", "== 1.0.*.*", "~=1.0+a", "=== a b"])
    func refusesSpecifiers(_ spec: String) {
        #expect(throws: SpecifierError.self) { try SpecifierSet(spec) }
    }

    @Test func namesCompareAsPEP503Says() {
        #expect(PackageName.normalize("Foo.Bar__baz--Q") == "foo-bar-baz-q")
        #expect(PackageName.normalize("transformers") == "transformers")
        #expect(PackageName.normalize("ruamel.yaml") == "ruamel-yaml")
    }
}
