/// Judges a Keras v3 `config.json` against the allowlist's Keras policy.
///
/// A small strict JSON walker (no Foundation bridging, nesting capped) visits every object:
/// - `code-layer` (critical): a `class_name` that carries Python code (`Lambda`,
///   `TFOpLambda`, `SlicingOpLambda`, `__lambda__` serialized functions);
/// - `unknown-module` (high): a `module` outside the allowed roots (`keras`, `keras.*`);
/// - `custom-object` (high): a `registered_name` of the `Package>Name` form.
struct KerasConfigInspector {
    let policy: ScanAllowlist.Keras
    static let maxDepth = 256

    /// - Throws: `ScanProblem` (`malformed`, `limit-exceeded`) when the bytes are not a JSON object.
    func inspect(_ bytes: [UInt8], member: String?) throws -> [ScanFinding] {
        var walker = KerasJSONWalker(bytes: bytes, policy: policy, member: member)
        try walker.run()
        return walker.findings
    }
}

/// The JSON walk behind `KerasConfigInspector`.
private struct KerasJSONWalker {
    /// A key is kept as its range in `bytes`: a slice would retain the buffer for every key.
    private enum PathComponent {
        case key(Range<Int>)
        case index(Int)
    }

    let bytes: [UInt8]
    let policy: ScanAllowlist.Keras
    let member: String?
    private var index = 0
    private var path: [PathComponent] = []
    private(set) var findings: [ScanFinding] = []

    init(bytes: [UInt8], policy: ScanAllowlist.Keras, member: String?) {
        self.bytes = bytes
        self.policy = policy
        self.member = member
    }

    mutating func run() throws {
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else {
            throw ScanProblem.malformed("Keras config.json is not a JSON object")
        }
        _ = try value(depth: 0)
        skipSpace()
        guard index == bytes.count else { throw ScanProblem.malformed("Keras config.json has trailing bytes", at: index) }
    }

    private func fail(_ what: String) -> ScanProblem {
        ScanProblem.malformed("Keras config.json: \(what)", at: index)
    }

    private mutating func skipSpace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
    }

    /// Parses one value; returns its text when it is a string and `wanted`.
    private mutating func value(depth: Int, wanted: Bool = false) throws -> String? {
        guard depth < KerasConfigInspector.maxDepth else {
            throw ScanProblem.limit("Keras config nested deeper than \(KerasConfigInspector.maxDepth)")
        }
        skipSpace()
        guard index < bytes.count else { throw fail("unexpected end") }
        switch bytes[index] {
        case UInt8(ascii: "{"): try object(depth: depth)
        case UInt8(ascii: "["): try array(depth: depth)
        case UInt8(ascii: "\""):
            let raw = try stringBytes()
            return wanted ? try text(bytes[raw]) : nil
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try number()
        }
        return nil
    }

    private static let classNameKey = Array("class_name".utf8)
    private static let moduleKey = Array("module".utf8)
    private static let registeredKey = Array("registered_name".utf8)

    /// Every value of the keys that matter is judged, so a duplicated key cannot hide one.
    private mutating func object(depth: Int) throws {
        index += 1
        var classNames: [String] = []
        var modules: [String] = []
        var registered: [String] = []
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let key = try stringBytes()
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            let isClassName = matches(key, Self.classNameKey), isModule = matches(key, Self.moduleKey)
            let interesting = isClassName || isModule || matches(key, Self.registeredKey)
            path.append(.key(key))
            let text = try value(depth: depth + 1, wanted: interesting)
            path.removeLast()
            if let text {
                if isClassName { classNames.append(text) }
                else if isModule { modules.append(text) }
                else { registered.append(text) }
            }
            skipSpace()
            guard index < bytes.count else { throw fail("unclosed object") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            guard bytes[index] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
            index += 1
            break
        }
        if !classNames.isEmpty || !modules.isEmpty || !registered.isEmpty {
            judge(classNames: classNames, modules: modules, registered: registered)
        }
    }

    private mutating func array(depth: Int) throws {
        index += 1
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return
        }
        var position = 0
        while true {
            path.append(.index(position))
            _ = try value(depth: depth + 1)
            path.removeLast()
            position += 1
            skipSpace()
            guard index < bytes.count else { throw fail("unclosed array") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            guard bytes[index] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
            index += 1
            return
        }
    }

    /// Whether the key at `range` of `bytes` is `key`.
    private func matches(_ range: Range<Int>, _ key: [UInt8]) -> Bool {
        range.count == key.count && bytes[range].elementsEqual(key)
    }

    /// Where the raw bytes between the quotes are (escapes still in place), validated structurally.
    private mutating func stringBytes() throws -> Range<Int> {
        index += 1
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let raw = start..<index
                index += 1
                return raw
            }
            if byte < 0x20 { throw fail("control character in string") }
            index += byte == UInt8(ascii: "\\") ? 2 : 1
        }
        throw fail("unterminated string")
    }

    private func text(_ raw: ArraySlice<UInt8>) throws -> String {
        if !raw.contains(UInt8(ascii: "\\")), let text = String(validating: raw, as: UTF8.self) { return text }
        return try unescape(raw)
    }

    private func unescape(_ raw: ArraySlice<UInt8>) throws -> String {
        var out: [UInt8] = []
        var position = raw.startIndex
        while position < raw.endIndex {
            let byte = raw[position]
            position += 1
            guard byte == UInt8(ascii: "\\"), position < raw.endIndex else {
                out.append(byte)
                continue
            }
            let next = raw[position]
            position += 1
            switch next {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(next)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "u"):
                guard position + 4 <= raw.endIndex, let code = UInt32(String(decoding: raw[position..<(position + 4)], as: UTF8.self), radix: 16)
                else { throw fail("bad \\u escape") }
                position += 4
                // Surrogate halves become U+FFFD: names with them are not Keras names anyway.
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out += Array(String(Character(scalar)).utf8)
            default: throw fail("bad escape")
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw fail("string is not UTF-8") }
        return text
    }

    private mutating func literal(_ word: StaticString) throws {
        let length = word.utf8CodeUnitCount
        guard index + length <= bytes.count else { throw fail("unexpected end") }
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: length)
        guard bytes[index..<(index + length)].elementsEqual(expected) else { throw fail("invalid literal") }
        index += length
    }

    private mutating func number() throws {
        let start = index
        while index < bytes.count, Self.isNumberByte(bytes[index]) { index += 1 }
        guard index > start, Double(String(decoding: bytes[start..<index], as: UTF8.self)) != nil else {
            throw fail("invalid value")
        }
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "e"), UInt8(ascii: "E"): return true
        default: return false
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
            case .key(let key): text += "." + String(decoding: bytes[key], as: UTF8.self)
            case .index(let position): text += "[\(position)]"
            }
        }
    }
}
