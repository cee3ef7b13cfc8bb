import Foundation

/// The reviewed policy the scanner judges imports and Keras objects against.
///
/// Fail-closed: anything not listed under `pickle.allowed` is a finding; the dangerous lists
/// only decide whether that finding is `critical` or `high`. The reviewed copy lives in
/// `data/scan-allowlist.json` and is embedded as `reviewedJSON`.
public struct ScanAllowlist: Codable, Sendable, Hashable {
    /// Pickle import policy.
    public struct Pickle: Codable, Sendable, Hashable {
        /// Module → names that may be imported.
        public var allowed: [String: [String]]
        /// Modules (and their submodules) whose every name is a code-execution primitive.
        public var dangerousModules: [String]
        /// Module → names that are code-execution primitives.
        public var dangerousNames: [String: [String]]
        /// Attribute names that make a dotted import name a traversal to something dangerous.
        public var dangerousAttributes: [String]

        public init(
            allowed: [String: [String]], dangerousModules: [String],
            dangerousNames: [String: [String]], dangerousAttributes: [String]
        ) {
            self.allowed = allowed
            self.dangerousModules = dangerousModules
            self.dangerousNames = dangerousNames
            self.dangerousAttributes = dangerousAttributes
        }

        private enum CodingKeys: String, CodingKey {
            case allowed
            case dangerousModules = "dangerous_modules"
            case dangerousNames = "dangerous_names"
            case dangerousAttributes = "dangerous_attributes"
        }
    }

    /// Keras v3 config policy.
    public struct Keras: Codable, Sendable, Hashable {
        /// `class_name` values that carry Python code.
        public var codeClassNames: [String]
        /// `module` values allowed: these roots and their dotted submodules.
        public var allowedModuleRoots: [String]

        public init(codeClassNames: [String], allowedModuleRoots: [String]) {
            self.codeClassNames = codeClassNames
            self.allowedModuleRoots = allowedModuleRoots
        }

        private enum CodingKeys: String, CodingKey {
            case codeClassNames = "code_class_names"
            case allowedModuleRoots = "allowed_module_roots"
        }
    }

    public var schemaVersion: Int
    public var pickle: Pickle
    public var keras: Keras

    public init(schemaVersion: Int, pickle: Pickle, keras: Keras) {
        self.schemaVersion = schemaVersion
        self.pickle = pickle
        self.keras = keras
    }

    private enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case pickle, keras
    }

    /// An allowlist that allows nothing: every import is a finding.
    public static let denyAll = ScanAllowlist(
        schemaVersion: 1,
        pickle: Pickle(allowed: [:], dangerousModules: [], dangerousNames: [:], dangerousAttributes: []),
        keras: Keras(codeClassNames: ["Lambda", "TFOpLambda", "SlicingOpLambda", "__lambda__"], allowedModuleRoots: [])
    )

    /// Decodes an allowlist from its JSON form.
    /// - Throws: `DecodingError` when the JSON does not have the documented shape.
    public static func decode(json: String) throws -> ScanAllowlist {
        try JSONDecoder().decode(ScanAllowlist.self, from: Data(json.utf8))
    }

    /// The reviewed allowlist. Falls back to `denyAll` (fail-closed) if the embedded JSON
    /// ever failed to decode; a test asserts it decodes.
    public static let reviewed: ScanAllowlist = (try? decode(json: reviewedJSON)) ?? denyAll
}
