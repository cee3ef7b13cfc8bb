import ArgumentParser
import Foundation
import VesselClient
import VesselCore
import VesselSigning

struct Push: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Push a folder as a new version of a model.")
    @Argument(help: "The model folder.") var folder: String
    @Option(help: "owner/name (created on first push).") var model: String
    @Option(help: "Point this alias at the new version once it is ready.") var alias: String?
    @Option(help: "A description of the version.") var description: String?
    @Option(help: "The training run the version came from (run_… or OWNER/run_…, from `vessel run add`).") var run: String?
    @Option(help: "The version's requirements.txt (default: requirements.txt in the folder, else its run's).") var requirements: String?
    @Option(help: "The serving image, pinned by digest: REF@sha256:… (default: its run's).") var image: String?
    @OptionGroup(title: "Signing (sign the version after commit)") var signing: SigningKeyOptions
    @OptionGroup var client: RetryingClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let name = try ModelName(model)
            let aliasName = try alias.map { try AliasName($0) }
            let lineage = try pushLineage()
            let signingKey = try signing.load()
            defer { (signingKey as? PKCS11SigningKey)?.close() }
            let progress = TransferProgress()
            let result = try await client.withClient { api in
                try await ProgressDisplay.run(progress, enabled: !client.json) {
                    try await Pusher(api: api, progress: progress).push(folder: folder, model: name, alias: aliasName, description: description, signingKey: signingKey, lineage: lineage)
                }
            }
            if client.json { Output.json(result) } else {
                Output.line("pushed \(result.model):\(result.version) (\(result.digest)): \(result.files) files, \(Output.bytes(result.bytesUploaded)) uploaded, state \(result.state.rawValue)\(result.alias.map { ", alias \($0)" } ?? "")")
                if let signature = result.signature {
                    Output.line("signed: signature \(signature.id), \(signature.status == .trusted ? "trusted (key \(signature.keyName ?? "?"))" : "unverified (no trusted key has hint \(signature.keyHint))")")
                }
            }
            if result.state == .quarantined {
                Output.diagnostic("version \(result.version) is quarantined; `vessel show \(result.model):\(result.version)` lists the findings")
                throw ExitCode(1)
            }
        }
    }
}

extension Push {
    /// The run and environment to link: the requirements are read and checked before anything
    /// is hashed or sent, so a line pip would not take refuses the push (exit 2, file:line).
    func pushLineage() throws -> VersionLineageRequest? {
        if let image { _ = try ImageReference.validate(image) }
        var path = requirements
        if path == nil {
            let inFolder = (folder as NSString).appendingPathComponent("requirements.txt")
            if FileManager.default.fileExists(atPath: inFolder) { path = inFolder }
        }
        let request = VersionLineageRequest(run: run, requirements: try path.map(LocalText.requirements), image: image)
        return request.isEmpty ? nil : request
    }
}

struct Pull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Pull a version into a folder, verifying every byte.")
    @Argument(help: "owner/name, owner/name@alias or owner/name:version") var reference: String
    @Argument(help: "Destination folder: absent, empty, or an earlier pull (replaced atomically).") var destination: String
    @Option(help: "The local content-addressed cache (default: $XDG_CACHE_HOME/vessel or ~/.cache/vessel).") var cacheDir: String?
    @Flag(help: "Re-hash cached blobs before using them.") var verifyCache = false
    @Flag(help: "Pull a quarantined version anyway.") var allowQuarantined = false
    @Option(name: .customLong("verify-key"), help: ArgumentHelp("Require a signature by this PEM public key before downloading (repeatable; default: $VESSEL_VERIFY_KEYS or verify_keys in the config file).", valueName: "pub.pem"))
    var verifyKeys: [String] = []
    @Option(help: ArgumentHelp("auto: fetch pieces from peers the registry names, each checked (docs/peers.md); off: the registry only.", valueName: "auto|off"))
    var peers = "auto"
    @OptionGroup var client: RetryingClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let ref = try Reference(reference)
            let session = try Self.peerSession(peers)
            let cache = try BlobCache(root: cacheDir ?? BlobCache.defaultRoot())
            let progress = TransferProgress()
            let result = try await client.withClient { api in
                let keys = try Self.loadKeys(verifyKeys.isEmpty ? api.config.verifyKeys : verifyKeys)
                var configured = Puller(api: api, cache: cache, progress: progress)
                configured.peers = session
                let puller = configured
                return try await ProgressDisplay.run(progress, enabled: !client.json) {
                    try await puller.pull(ref, into: destination, verifyCache: verifyCache, allowQuarantined: allowQuarantined, verifyKeys: keys)
                }
            }
            if client.json { Output.json(result) } else {
                let source = result.bytesDownloaded == 0 ? "nothing downloaded: every file came from the cache" : "\(Output.bytes(result.bytesDownloaded)) downloaded" + ((result.bytesFromPeers ?? 0) > 0 ? " (\(Output.bytes(result.bytesFromPeers ?? 0)) from peers)" : "")
                Output.line("pulled \(result.model):\(result.version) (\(result.digest)) into \(destination): \(result.files) files, \(source)")
                if let signature = result.verifiedSignature {
                    Output.line("verified signature \(signature.id) (key hint \(signature.keyHint)) before downloading")
                }
            }
        }
    }

    /// `--peers auto|off`.
    static func peerSession(_ mode: String) throws(VesselError) -> PeerSession? {
        switch mode {
        case "auto": PeerSession()
        case "off": nil
        default: throw .invalidArgument("--peers must be auto or off, not '\(mode)'")
        }
    }

    static func loadKeys(_ paths: [String]) throws -> [VerificationKey] {
        try paths.map { path in
            do {
                return try VerificationKey(contentsOfFile: path)
            } catch let error as KeyError {
                throw VesselError.invalidArgument("verify key \(path): \(error.message)")
            }
        }
    }
}
