import VesselCore
import VesselMetadata
import VesselStorage

/// What a validator sees of a version being committed.
public struct ValidationInput: Sendable {
    public let model: ModelName
    public let manifest: Manifest
    /// The committed blobs the manifest names (all present by the time validators run).
    public let blobs: any BlobStore
    public let blobIndex: any BlobIndex
}

/// One check at version commit. Returns findings; any finding quarantines the version.
/// Throwing means the check could not run (an I/O failure), which fails the commit instead.
public protocol VersionValidator: Sendable {
    /// Stable name shown with each finding (`manifest`, `safetensors`, `scan`, `signature`).
    var name: String { get }
    func validate(_ input: ValidationInput) async throws -> [Finding]
}

/// The ordered validators run at commit. Later issues append theirs without touching others.
public struct ValidationPipeline: Sendable {
    public var validators: [any VersionValidator]

    public init(validators: [any VersionValidator]) {
        self.validators = validators
    }

    public static var standard: ValidationPipeline { ValidationPipeline(validators: [ManifestValidator()]) }

    public func run(_ input: ValidationInput) async throws -> [Finding] {
        var findings: [Finding] = []
        for validator in validators { findings += try await validator.validate(input) }
        return findings
    }
}

/// Checks that every file's declared size is the size of the blob it names.
public struct ManifestValidator: VersionValidator {
    public var name: String { "manifest" }
    public init() {}

    public func validate(_ input: ValidationInput) async throws -> [Finding] {
        var findings: [Finding] = []
        for entry in input.manifest.entries {
            guard let stored = try await input.blobIndex.blobSize(entry.digest) else {
                findings.append(Finding(validator: name, code: "missing_blob", message: "blob \(entry.digest) is not stored", path: entry.path))
                continue
            }
            if stored != entry.size {
                findings.append(Finding(validator: name, code: "size_mismatch", message: "declared \(entry.size) bytes, but blob \(entry.digest) has \(stored)", path: entry.path))
            }
        }
        return findings
    }
}
