import Foundation
import VesselTestSupport
@testable import VesselSigning

/// Environment switches for the tests that drive real external tools.
enum TestEnvironment {
    /// `VESSEL_TEST_PYTHON`: a python whose environment has `model-signing==1.1.1` and `pyopenssl`.
    static let python: String? = nonEmpty("VESSEL_TEST_PYTHON")
    /// `VESSEL_TEST_SOFTHSM_MODULE`: path of `libsofthsm2.so`.
    static let softHSMModule: String? = nonEmpty("VESSEL_TEST_SOFTHSM_MODULE")
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    private static func nonEmpty(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }
}

/// Runs the `model_signing` CLI of `TestEnvironment.python`.
enum ModelSigningCLI {
    /// The venv's `model_signing` script next to the python, else `python -m model_signing`.
    static func command(_ arguments: [String]) -> (String, [String]) {
        let python = TestEnvironment.python ?? "python3"
        let script = URL(fileURLWithPath: python).deletingLastPathComponent().appendingPathComponent("model_signing").path
        if FileManager.default.isExecutableFile(atPath: script) { return (script, arguments) }
        return (python, ["-m", "model_signing"] + arguments)
    }

    /// Through the tests' one process runner: no pool thread waits while Python works.
    static func sign(model: URL, privateKey: String, signature: String) async throws -> VesselTestSupport.ProcessResult {
        let (exe, args) = command(["sign", "key", model.path, "--private_key", privateKey, "--signature", signature])
        return try await runProcess(exe, args)
    }

    static func verify(model: URL, publicKey: String, signature: String) async throws -> VesselTestSupport.ProcessResult {
        let (exe, args) = command(["verify", "key", model.path, "--public_key", publicKey, "--signature", signature])
        return try await runProcess(exe, args)
    }
}

/// Key files made with the openssl CLI, once per test process.
struct OpenSSLKeys: Sendable {
    struct Pair: Sendable {
        var name: String
        var privateKey: String
        var publicKey: String
    }

    let pairs: [Pair]
    let directory: URL

    static let shared: Result<OpenSSLKeys, any Error> = Result { try OpenSSLKeys.make() }

    private static func make() throws -> OpenSSLKeys {
        let directory = try TestSupport.makeTemporaryDirectory()
        let openssl = TestSupport.which("openssl") ?? "/usr/bin/openssl"
        var pairs: [Pair] = []
        for (curve, name) in [("prime256v1", "p256"), ("secp384r1", "p384")] {
            let sec1 = directory.appendingPathComponent("\(name)-sec1.pem").path
            let pkcs8 = directory.appendingPathComponent("\(name)-pkcs8.pem").path
            let pub = directory.appendingPathComponent("\(name).pub.pem").path
            for (args, what) in [
                (["ecparam", "-name", curve, "-genkey", "-out", sec1], "ecparam"),
                (["pkey", "-in", sec1, "-out", pkcs8], "pkey"),
                (["ec", "-in", sec1, "-pubout", "-out", pub], "ec -pubout"),
            ] {
                let result = try TestSupport.run(openssl, args)
                guard result.status == 0 else { throw SetupError("openssl \(what) failed: \(result.stderr)") }
            }
            pairs.append(Pair(name: "\(name)-sec1", privateKey: sec1, publicKey: pub))
            pairs.append(Pair(name: "\(name)-pkcs8", privateKey: pkcs8, publicKey: pub))
        }
        return OpenSSLKeys(pairs: pairs, directory: directory)
    }
}

struct SetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The model folder the interop tests sign: nested files, an empty file, a
/// non-ASCII name and names whose order differs between plain byte order and
/// model-signing's component order (`a-b` / `a/c`, `tok.json` / `tok/v.txt`).
enum InteropModel {
    static let files: [String: [UInt8]] = [
        "config.json": Array(#"{"hidden_size": 8}"#.utf8),
        "weights/model-00001-of-00002.safetensors": Array(repeating: 1, count: 300_000),
        "weights/model-00002-of-00002.safetensors": Array(repeating: 2, count: 200_000),
        "empty": [],
        "a-b": [3],
        "a/c": [4],
        "tok.json": [5],
        "tok/v.txt": [6],
        "ünïcødé.txt": [7],
        ".gitattributes": Array("*.bin filter=lfs".utf8),
    ]

    static func make() throws -> URL {
        let root = try TestSupport.makeTemporaryDirectory().appendingPathComponent("model")
        try TestSupport.writeModel(files, at: root)
        return root
    }
}
