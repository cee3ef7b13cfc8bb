import ArgumentParser
import Foundation
import VesselCore
import VesselSigning

/// What `vessel verify --json` prints.
struct VerifyResult: Encodable {
    var verified: Bool
    var subject: String
    var rootDigest: Digest
    var files: Int

    enum CodingKeys: String, CodingKey {
        case verified, subject, files
        case rootDigest = "root_digest"
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a model folder against an OpenSSF model-signing bundle (from `vessel sign` or `model_signing sign key`).",
        discussion: """
            Exit 0: verified. Exit 1: not verified (wrong key, altered bundle, a changed, missing or extra file; every difference is listed). Exit 2: unreadable signature or key.
            """
    )
    @Argument(help: "The model folder.") var folder: String
    @Option(help: "The signature bundle.") var signature: String
    @Option(name: .customLong("public-key"), help: "The signer's PEM public key.") var publicKey: String
    @Flag(help: "Print machine-readable JSON on stdout.") var json = false

    func run() async throws {
        try await Output.run(json: json) {
            let key = try VerificationKey(contentsOfFile: publicKey)
            let verified = try await FolderSigning.verify(folder: folder, signaturePath: signature, key: key)
            if json {
                Output.json(VerifyResult(verified: true, subject: verified.subjectName, rootDigest: verified.rootDigest, files: verified.files))
            } else {
                Output.line("verified \(folder): \(verified.files) files, root digest \(verified.rootDigest), signed as \"\(verified.subjectName)\"")
            }
        }
    }
}
