import ArgumentParser
import Foundation
import VesselClient
import VesselCore
import VesselSigning

/// What `vessel sign --json` prints.
struct SignResult: Encodable {
    var subject: String
    var rootDigest: Digest
    var files: Int
    var keyHint: String
    /// The bundle file written, if any.
    var signatureFile: String?
    /// With `--model`: the version signed and the registry's record of the signature.
    var model: ModelName?
    var version: Int?
    var signature: SignatureInfo?

    enum CodingKeys: String, CodingKey {
        case subject, files, model, version, signature
        case rootDigest = "root_digest"
        case keyHint = "key_hint"
        case signatureFile = "signature_file"
    }
}

struct Sign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign a model folder, or a version in the registry, with an OpenSSF model-signing bundle.",
        discussion: """
            A folder: `vessel sign DIR --private-key key.pem --signature model.sig` writes a bundle that `model_signing verify key` accepts.

            A pushed version: `vessel sign --model owner/name:3 --private-key key.pem` signs its manifest and attaches the signature in the registry.

            PKCS#11: --pkcs11-module, --pkcs11-token and --key-label, with the PIN in $VESSEL_PKCS11_PIN.
            """
    )
    @Argument(help: "The model folder to sign.") var folder: String?
    @Option(help: "Sign a version in the registry instead: owner/name, owner/name:version or owner/name@alias.") var model: String?
    @Option(help: "Where to write the bundle (required when signing a folder).") var signature: String?
    @OptionGroup var key: SigningKeyOptions
    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard (folder == nil) != (model == nil) else { throw ValidationError("give either a folder or --model REF") }
        if folder != nil && signature == nil { throw ValidationError("--signature FILE is required when signing a folder") }
        guard key.isGiven else { throw ValidationError("give a key: --private-key FILE, or --pkcs11-module with --pkcs11-token and --key-label") }
    }

    func run() async throws {
        try await Output.run(json: client.json) {
            guard let signingKey = try key.load() else { return }
            defer { (signingKey as? PKCS11SigningKey)?.close() }
            let result: SignResult
            if let folder, let signature {
                let signed = try await FolderSigning.sign(folder: folder, key: signingKey, signaturePath: signature)
                try SignatureFile.write(signed.bundle ?? [], to: signature)
                result = SignResult(subject: signed.subjectName, rootDigest: signed.rootDigest, files: signed.files, keyHint: signingKey.publicKey.hint, signatureFile: signature)
            } else if let model {
                let reference = try Reference(model)
                let signed = try await client.withClient { try await VersionSigning.sign(reference, key: signingKey, api: $0) }
                if let signature { try SignatureFile.write(signed.bundle, to: signature) }
                result = SignResult(
                    subject: signed.version.model.description, rootDigest: signed.version.digest, files: signed.version.files,
                    keyHint: signingKey.publicKey.hint, signatureFile: signature,
                    model: signed.version.model, version: signed.version.version, signature: signed.signature
                )
            } else {
                return
            }
            if client.json { Output.json(result); return }
            if let info = result.signature, let model = result.model, let version = result.version {
                let trust = info.status == .trusted ? "trusted (key \(info.keyName ?? "?"))" : "unverified (the registry trusts no key with hint \(info.keyHint))"
                Output.line("signed \(model):\(version) (\(result.rootDigest)): signature \(info.id), \(trust)")
            } else {
                Output.line("signed \(result.files) files of \(result.subject) (\(result.rootDigest)) into \(signature ?? "-")")
            }
        }
    }
}

/// Writes a bundle atomically (temporary file + rename), mode 0644.
enum SignatureFile {
    static func write(_ bytes: [UInt8], to path: String) throws(VesselError) {
        let temporary = "\(path).tmp-\(UUID().uuidString.prefix(8))"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes), attributes: [.posixPermissions: 0o644]) else {
            throw .invalidArgument("cannot write the signature file '\(path)'")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw .invalidArgument("cannot write the signature file '\(path)': \(String(cString: strerror(errno)))")
        }
    }
}
