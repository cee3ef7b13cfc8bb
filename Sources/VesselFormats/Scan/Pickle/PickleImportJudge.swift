/// Judges one pickle import against a `ScanAllowlist`.
///
/// The judgment follows what CPython's `Unpickler.find_class` would resolve: for protocols
/// below 3 Python 2 names are mapped first (`__builtin__` → `builtins`); a dotted name walks
/// attributes, so any dangerous component anywhere makes the import critical. Dangerous
/// takes precedence over allowed.
struct PickleImportJudge: Sendable {
    enum Judgment: Equatable, Sendable {
        case allowed
        case dangerous(String)
        case unknown
    }

    private let allowed: [String: Set<String>]
    private let dangerousModules: Set<String>
    private let dangerousNames: [String: Set<String>]
    private let dangerousParts: Set<String>
    /// The imports judged `.allowed`, worked out once here for protocols 0–2 (which resolve
    /// Python 2 names, `__builtin__.set` among them) and for protocols 3–5: nearly every
    /// import in a real pickle is one of them, and one lookup then answers. Anything else
    /// gets the full judgment, so these tables only ever repeat its answers.
    private var allowedBelow3: [String: Set<String>] = [:]
    private var allowedFrom3: [String: Set<String>] = [:]

    init(allowlist: ScanAllowlist) {
        allowed = allowlist.pickle.allowed.mapValues(Set.init)
        dangerousModules = Set(allowlist.pickle.dangerousModules)
        dangerousNames = allowlist.pickle.dangerousNames.mapValues(Set.init)
        var parts = Set(allowlist.pickle.dangerousAttributes)
        for module in allowlist.pickle.dangerousModules {
            if let root = module.split(separator: ".").first { parts.insert(String(root)) }
        }
        for names in allowlist.pickle.dangerousNames.values { parts.formUnion(names) }
        dangerousParts = parts
        // Candidates: every allowed name, and every Python 2 spelling of one.
        var candidates: [(String, String)] = []
        for (module, names) in allowed { for name in names { candidates.append((module, name)) } }
        candidates += PickleCompatNames.python2Spellings(of: allowed)
        for (module, name) in candidates {
            if fullJudgment(module: module, name: name, protocolVersion: 2) == .allowed {
                allowedBelow3[module, default: []].insert(name)
            }
            if fullJudgment(module: module, name: name, protocolVersion: 3) == .allowed {
                allowedFrom3[module, default: []].insert(name)
            }
        }
    }

    func judge(module: String, name: String, protocolVersion: Int) -> Judgment {
        let known = protocolVersion < 3 ? allowedBelow3 : allowedFrom3
        if known[module]?.contains(name) == true { return .allowed }
        return fullJudgment(module: module, name: name, protocolVersion: protocolVersion)
    }

    private func fullJudgment(module: String, name: String, protocolVersion: Int) -> Judgment {
        let mapped = PickleCompatNames.map(module: module, name: name)
        if let reason = dangerReason(module: module, name: name) { return .dangerous(reason) }
        if mapped != (module, name), let reason = dangerReason(module: mapped.0, name: mapped.1) {
            return .dangerous(reason)
        }
        let effective = protocolVersion < 3 ? mapped : (module, name)
        if allowed[effective.0]?.contains(effective.1) == true { return .allowed }
        return .unknown
    }

    private func dangerReason(module: String, name: String) -> String? {
        if dangerousModules.contains(module) { return "module \(module) is a code-execution primitive" }
        if module.utf8.contains(UInt8(ascii: ".")) {
            var prefix = ""
            for component in module.split(separator: ".", omittingEmptySubsequences: false) {
                prefix = prefix.isEmpty ? String(component) : prefix + "." + component
                if dangerousModules.contains(prefix) { return "module \(prefix) is a code-execution primitive" }
            }
        }
        if dangerousNames[module]?.contains(name) == true {
            return "\(module).\(name) is a code-execution primitive"
        }
        if name.utf8.contains(UInt8(ascii: ".")) {
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            if let first = parts.first, dangerousNames[module]?.contains(String(first)) == true {
                return "\(module).\(first) is a code-execution primitive"
            }
            for part in parts where dangerousParts.contains(String(part)) {
                return "dotted name reaches \(part)"
            }
        }
        return nil
    }
}
