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
    /// The most specific format policy covering the model, if one was set.
    public let formatPolicy: [String]?
}

/// What the validators found: findings (any one quarantines the version) and what they learned
/// about the files, stored with the version.
public struct ValidationReport: Sendable {
    public var findings: [Finding] = []
    public var analysis = VersionAnalysis()
}

/// One check at version commit. Adds findings (any finding quarantines the version) and
/// analysis to the report. Throwing means the check could not run (an I/O failure), which
/// fails the commit instead.
public protocol VersionValidator: Sendable {
    /// Stable name shown with each finding (`manifest`, `safetensors`, `scan`, `signature`).
    var name: String { get }
    func validate(_ input: ValidationInput, into report: inout ValidationReport) async throws
}

/// The ordered validators run at commit. Later issues append theirs without touching others.
public struct ValidationPipeline: Sendable {
    public var validators: [any VersionValidator]

    public init(validators: [any VersionValidator]) {
        self.validators = validators
    }

    /// Manifest consistency, strict safetensors validation, then the scanner and its format policy.
    public static var standard: ValidationPipeline {
        ValidationPipeline(validators: [ManifestValidator(), SafetensorsValidator(), ScanValidator()])
    }

    public func run(_ input: ValidationInput) async throws -> ValidationReport {
        var report = ValidationReport()
        for validator in validators { try await validator.validate(input, into: &report) }
        return report
    }
}

/// Checks that every file's declared size is the size of the blob it names.
public struct ManifestValidator: VersionValidator {
    public var name: String { "manifest" }
    public init() {}

    public func validate(_ input: ValidationInput, into report: inout ValidationReport) async throws {
        for entry in input.manifest.entries {
            guard let stored = try await input.blobIndex.blobSize(entry.digest) else {
                report.findings.append(Finding(validator: name, code: "missing_blob", message: "blob \(entry.digest) is not stored", path: entry.path))
                continue
            }
            if stored != entry.size {
                report.findings.append(Finding(validator: name, code: "size_mismatch", message: "declared \(entry.size) bytes, but blob \(entry.digest) has \(stored)", path: entry.path))
            }
        }
    }
}
