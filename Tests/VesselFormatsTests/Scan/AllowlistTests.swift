import Foundation
import Testing
@testable import VesselFormats

@Suite("Allowlist")
struct AllowlistTests {
    @Test func embeddedAllowlistMatchesDataFile() throws {
        let path = ScanTestSupport.packageRoot + "/data/scan-allowlist.json"
        let data = try #require(FileManager.default.contents(atPath: path))
        #expect(String(decoding: data, as: UTF8.self) == ScanAllowlist.reviewedJSON,
                "run scripts/gen_allowlist.py after editing data/scan-allowlist.json")
    }

    @Test func reviewedAllowlistDecodes() throws {
        let decoded = try ScanAllowlist.decode(json: ScanAllowlist.reviewedJSON)
        #expect(decoded == ScanAllowlist.reviewed)
        #expect(decoded != ScanAllowlist.denyAll)
        #expect(decoded.pickle.allowed["torch._utils"]?.contains("_rebuild_tensor_v2") == true)
    }

    @Test(arguments: [
        ("torch._utils", "_rebuild_tensor_v2", PickleImportJudge.Judgment.allowed),
        ("collections", "OrderedDict", .allowed),
        ("numpy.core.multiarray", "_reconstruct", .allowed),
        ("numpy._core.multiarray", "_reconstruct", .allowed),
        ("_codecs", "encode", .allowed),
        ("builtins", "slice", .allowed),
        ("torch", "FloatStorage", .allowed),
        ("torch.serialization", "_get_layout", .allowed),
        ("collections", "Counter", .unknown),
        ("some_package", "Model", .unknown),
        ("builtins", "list", .unknown),
    ])
    func judgments(_ module: String, _ name: String, _ expected: PickleImportJudge.Judgment) {
        let judge = PickleImportJudge(allowlist: .reviewed)
        #expect(judge.judge(module: module, name: name, protocolVersion: 4) == expected)
    }

    @Test(arguments: [
        ("os", "system"), ("posix", "system"), ("nt", "system"), ("subprocess", "Popen"),
        ("builtins", "eval"), ("builtins", "exec"), ("builtins", "getattr"), ("builtins", "__import__"),
        ("builtins", "open"), ("builtins", "compile"), ("__builtin__", "eval"), ("runpy", "_run_code"),
        ("importlib", "import_module"), ("importlib.util", "spec_from_file_location"), ("pickle", "loads"),
        ("_pickle", "loads"), ("marshal", "loads"), ("operator", "attrgetter"), ("_operator", "itemgetter"),
        ("operator", "methodcaller"), ("functools", "partial"), ("pkgutil", "resolve_name"),
        ("webbrowser", "open"), ("socket", "create_connection"), ("shutil", "rmtree"), ("sys", "exit"),
        ("code", "interact"), ("ctypes", "CDLL"), ("os.path", "join"), ("torch", "load"),
        ("numpy.testing._private.utils", "runstring"), ("commands", "getoutput"), ("cPickle", "loads"),
    ])
    func dangerousImportsAreCritical(_ module: String, _ name: String) {
        let judge = PickleImportJudge(allowlist: .reviewed)
        guard case .dangerous = judge.judge(module: module, name: name, protocolVersion: 2) else {
            Issue.record("\(module).\(name) is not judged dangerous")
            return
        }
    }

    @Test func denyAllAllowsNothing() {
        let judge = PickleImportJudge(allowlist: .denyAll)
        #expect(judge.judge(module: "collections", name: "OrderedDict", protocolVersion: 4) == .unknown)
    }
}
