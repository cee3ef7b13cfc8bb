import VesselCore

/// Judges a Keras v3 `config.json` against the allowlist's Keras policy.
///
/// VesselCore's strict JSON reader streams the tokens (memory bounded by the nesting cap,
/// whatever the config's size) and the walk visits every object:
/// - `code-layer` (critical): a `class_name` that carries Python code (`Lambda`,
///   `TFOpLambda`, `SlicingOpLambda`, `__lambda__` serialized functions);
/// - `unknown-module` (high): a `module` outside the allowed roots (`keras`, `keras.*`);
/// - `custom-object` (high): a `registered_name` of the `Package>Name` form.
struct KerasConfigInspector {
    let policy: ScanAllowlist.Keras
    /// Nesting levels, the top object being level 1: no value inside more than 255 arrays
    /// and objects.
    static let maxDepth = 256

    /// - Throws: `ScanProblem` (`malformed`, `limit-exceeded`) when the bytes are not a JSON object.
    func inspect(_ bytes: [UInt8], member: String?) throws -> [ScanFinding] {
        try bytes.withUnsafeBytes { buffer in
            var walker = KerasJSONWalker(bytes: buffer, policy: policy, member: member)
            try walker.run()
            return walker.findings
        }
    }
}

/// The JSON walk behind `KerasConfigInspector`.
private struct KerasJSONWalker {
    private enum PathComponent {
        case key(String)
        case index(Int)
    }

    let policy: ScanAllowlist.Keras
    let member: String?
    private var reader: StrictJSONReader
    private let count: Int
    private var path: [PathComponent] = []
    private(set) var findings: [ScanFinding] = []

    /// Duplicate keys are kept: every value of the keys that matter is judged, so a
    /// duplicated key cannot hide one.
    private static let options = StrictJSONReader.Options(
        depthLimit: .enclosingContainers(KerasConfigInspector.maxDepth - 1), rejectsDuplicateKeys: false
    )

    init(bytes: UnsafeRawBufferPointer, policy: ScanAllowlist.Keras, member: String?) {
        self.reader = StrictJSONReader(bytes: bytes, options: Self.options)
        self.count = bytes.count
        self.policy = policy
        self.member = member
    }

    mutating func run() throws {
        guard case .objectStart = try next() else {
            throw ScanProblem.malformed("Keras config.json is not a JSON object")
        }
        try object()
        reader.skipWhitespace()
        guard reader.position == count else { throw ScanProblem.malformed("Keras config.json has trailing bytes", at: reader.position) }
    }

    /// The next token, with the reader's errors as scan problems. Called only while the
    /// top-level value is incomplete, so there always is one.
    private mutating func next() throws -> StrictJSONToken {
        let token: StrictJSONToken?
        do throws(StrictJSONError) {
            token = try reader.nextToken()
        } catch {
            switch error {
            case .syntax(let offset, let reason): throw ScanProblem.malformed("Keras config.json: \(reason)", at: offset)
            case .tooDeep: throw ScanProblem.limit("Keras config nested deeper than \(KerasConfigInspector.maxDepth)")
            // Not checked (see `options`), kept for completeness.
            case .duplicateKey(let key, let offset): throw ScanProblem.malformed("Keras config.json: duplicate key \(key)", at: offset)
            }
        }
        guard let token else { throw ScanProblem.malformed("Keras config.json: unexpected end", at: reader.position) }
        return token
    }

    /// Walks the value that `token` starts; returns its text when it is a string.
    private mutating func value(_ token: StrictJSONToken) throws -> String? {
        switch token {
        case .objectStart: try object()
        case .arrayStart: try array()
        case .string(let text): return text
        default: break
        }
        return nil
    }

    /// Walks the rest of an object after its `{`.
    private mutating func object() throws {
        var classNames: [String] = []
        var modules: [String] = []
        var registered: [String] = []
        while case .key(let key) = try next() {
            path.append(.key(key))
            let text = try value(try next())
            path.removeLast()
            guard let text else { continue }
            switch key {
            case "class_name": classNames.append(text)
            case "module": modules.append(text)
            case "registered_name": registered.append(text)
            default: break
            }
        }
        if !classNames.isEmpty || !modules.isEmpty || !registered.isEmpty {
            judge(classNames: classNames, modules: modules, registered: registered)
        }
    }

    /// Walks the rest of an array after its `[`.
    private mutating func array() throws {
        var position = 0
        while true {
            let token = try next()
            if case .arrayEnd = token { return }
            path.append(.index(position))
            _ = try value(token)
            path.removeLast()
            position += 1
        }
    }

    private mutating func judge(classNames: [String], modules: [String], registered: [String]) {
        for className in classNames where policy.codeClassNames.contains(className) {
            findings.append(ScanFinding(
                severity: .critical, kind: .codeLayer,
                detail: "\(pathText): \(className) carries Python code that runs on load", member: member))
        }
        for module in modules where !policy.allowedModuleRoots.contains(where: { Self.isModule(module, within: $0) }) {
            findings.append(ScanFinding(
                severity: .high, kind: .unknownModule,
                detail: "\(pathText): \(classNames.first ?? "object") from module \(module) outside Keras", member: member))
        }
        for name in registered where name.contains(">") {
            findings.append(ScanFinding(
                severity: .high, kind: .customObject,
                detail: "\(pathText): custom registered object \(name)", member: member))
        }
    }

    /// `module` is `root` or one of its dotted submodules.
    private static func isModule(_ module: String, within root: String) -> Bool {
        module.utf8.starts(with: root.utf8)
            && (module.utf8.count == root.utf8.count || module.utf8.dropFirst(root.utf8.count).first == UInt8(ascii: "."))
    }

    private var pathText: String {
        path.reduce(into: "$") { text, component in
            switch component {
            case .key(let key): text += "." + key
            case .index(let position): text += "[\(position)]"
            }
        }
    }
}
