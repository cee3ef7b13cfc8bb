/// Deterministic generators of PEP 440 and PEP 508 cases for the differential tests: versions
/// near each other (so boundaries are hit), every spelling PEP 440 normalizes, specifier sets
/// of one to three clauses with every operator, markers with every variable and operator, and a
/// share of malformed input, so refusals are compared too.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

struct PEP440CaseGenerator {
    var random: SplitMix64
    init(seed: UInt64) { random = SplitMix64(state: seed) }

    struct Parts {
        var epoch = 0
        var release: [Int] = [1]
        var pre: (String, Int)?
        var post: Int?
        var dev: Int?
        var local: [String]?

        var text: String {
            var s = epoch == 0 ? "" : "\(epoch)!"
            s += release.map(String.init).joined(separator: ".")
            if let pre { s += "\(pre.0)\(pre.1)" }
            if let post { s += ".post\(post)" }
            if let dev { s += ".dev\(dev)" }
            if let local { s += "+" + local.joined(separator: ".") }
            return s
        }
    }

    mutating func parts() -> Parts {
        var p = Parts()
        p.epoch = random.chance(5) ? 1 : 0
        p.release = (0..<random.pick([1, 2, 2, 3, 3, 3, 4])).map { _ in random.pick([0, 0, 1, 1, 2, 3, 10]) }
        if random.chance(25) { p.pre = (random.pick(["a", "b", "rc"]), random.pick([0, 1, 2])) }
        if random.chance(15) { p.post = random.pick([0, 1, 2]) }
        if random.chance(15) { p.dev = random.pick([0, 1, 2]) }
        if random.chance(10) { p.local = (0..<random.pick([1, 2])).map { _ in random.pick(["ubuntu", "1", "abc", "2", "local"]) } }
        return p
    }

    /// A version string; `messy` spells it as PEP 440 allows (and sometimes as it does not).
    mutating func versionText(messy: Bool) -> String {
        let p = parts()
        guard messy else { return p.text }
        if random.chance(5) { return garbage() }
        let sep = { (r: inout SplitMix64) in r.pick(["", ".", "-", "_"]) }
        var s = random.chance(5) ? "v" : ""
        if p.epoch != 0 { s += random.pick(["1!", "01!"]) }
        s += p.release.map { random.chance(10) ? "0\($0)" : String($0) }.joined(separator: ".")
        if let pre = p.pre {
            let words = ["a": ["a", "alpha", "A"], "b": ["b", "beta", "B"], "rc": ["rc", "c", "pre", "preview", "RC"]][pre.0] ?? ["a"]
            s += sep(&random) + random.pick(words) + (random.chance(20) ? sep(&random) : "") + (random.chance(15) ? "" : String(pre.1))
        }
        if let post = p.post {
            s += random.pick(["-\(post)", ".post\(post)", "post\(post)", ".r\(post)", "-rev\(post)", "_post_\(post)", ".post", "-post-\(post)"])
        }
        if let dev = p.dev { s += random.pick([".dev\(dev)", "-dev", "dev\(dev)", "_dev_\(dev)", ".DEV\(dev)"]) }
        if let local = p.local { s += "+" + local.map { random.chance(20) ? $0.uppercased() : $0 }.joined(separator: random.pick([".", "-", "_"])) }
        if random.chance(3) { s = " " + s + "\t" }
        return s
    }

    mutating func garbage() -> String {
        let alphabet = Array("0123456789.ab+-_!*v ")
        return String((0..<(1 + random.below(8))).map { _ in random.pick(alphabet) })
    }

    /// A version close to `base`: the same, padded, with a dev, pre, post or local added, or bumped.
    mutating func near(_ base: Parts) -> Parts {
        var p = base
        switch random.below(9) {
        case 0: p.release.append(0)
        case 1: p.dev = random.pick([0, 1])
        case 2: p.pre = (random.pick(["a", "b", "rc"]), random.pick([0, 1]))
        case 3: p.post = random.pick([0, 1, 2])
        case 4: p.local = [random.pick(["ubuntu", "1", "abc"])]
        case 5: p.release[p.release.count - 1] += 1
        case 6: if p.release.count > 1 { p.release.removeLast() }
        case 7: p = parts()
        default: break
        }
        return p
    }

    /// A specifier set and a candidate version drawn near its clauses.
    mutating func containsCase() -> (spec: String, version: String) {
        if random.chance(2) { return (garbage(), versionText(messy: false)) }
        let base = parts()
        var clauses: [String] = []
        var candidateText: String?
        for _ in 0..<random.pick([1, 1, 2, 2, 3]) {
            var v = near(base)
            let op = random.pick(["==", "!=", "<=", ">=", "<", ">", "~=", "==*", "!=*", "===", "==", ">=", "<"])
            let clause: String
            switch op {
            case "==*", "!=*":
                if random.chance(85) { v.pre = nil; v.post = nil; v.dev = nil; v.local = nil }
                clause = String(op.prefix(2)) + v.text + ".*"
            case "===":
                let text = random.chance(50) ? near(base).text : v.text
                candidateText = random.chance(70) ? text : candidateText
                clause = "===" + text
            default:
                if op != "==" && op != "!=" && random.chance(85) { v.local = nil }
                clause = op + (random.chance(10) ? " " : "") + v.text
            }
            clauses.append(random.chance(10) ? " \(clause) " : clause)
        }
        let candidate = candidateText ?? (random.chance(15) ? versionText(messy: true) : near(base).text)
        return (clauses.joined(separator: random.pick([",", ", "])), candidate)
    }
}

struct MarkerCaseGenerator {
    var random: SplitMix64
    init(seed: UInt64) { random = SplitMix64(state: seed) }

    static let versionVariables = ["python_version", "python_full_version", "implementation_version", "platform_release"]
    static let stringVariables = [
        "sys_platform", "platform_system", "os_name", "platform_machine", "implementation_name",
        "platform_python_implementation", "extra", "os.name", "sys.platform", "python_implementation", "platform.machine", "platform_version",
    ]
    static let versions = ["2.7", "3", "3.8", "3.10", "3.12", "3.12.0", "3.12.4", "3.13", "3.*", "3.12.*", "3.8.dev0", "4.0a1", "", "3.1*", "v3.9"]
    static let strings = ["linux", "darwin", "win32", "Linux", "Windows", "Darwin", "posix", "nt", "x86_64", "cpython", "CPython", "gpu", "linux darwin", "lin", "", "GPU_x"]

    mutating func atom() -> String {
        let versionSide = random.chance(50)
        let variable = versionSide ? random.pick(Self.versionVariables) : random.pick(Self.stringVariables)
        let pool = random.chance(85) == versionSide ? Self.versions : Self.strings
        let op = random.pick(["==", "!=", "<", "<=", ">", ">=", "~=", "===", "in", "not in", "==", "<", ">="])
        let quote = random.chance(50) ? "\"" : "'"
        let literal = quote + random.pick(pool) + quote
        let space = random.chance(85) ? " " : ""
        let needsSpace = op == "in" || op == "not in"
        let gap = needsSpace ? " " : space
        return random.chance(20) ? literal + gap + op + gap + variable : variable + gap + op + gap + literal
    }

    mutating func marker(depth: Int = 0) -> String {
        if depth == 0 && random.chance(3) {
            return random.pick(["python_version", "foo == 'x'", "python_version == '3' and", "(os_name == 'nt'", "os_name === ", "'a' == 'b'", "os_name == \"x' "])
        }
        let count = random.pick([1, 1, 2, 2, 3])
        var text = ""
        for i in 0..<count {
            if i > 0 { text += random.pick([" and ", " or ", " and ", " or "]) }
            if depth < 2 && random.chance(25) {
                text += "(" + marker(depth: depth + 1) + ")"
            } else {
                text += atom()
            }
        }
        return text
    }

    mutating func requirementLine(specifier: String) -> String {
        var line = random.pick(["transformers", "Foo.Bar", "foo_bar", "a", "torch-2", "x.", "_bad", "zope.interface", "foo_"])
        if random.chance(20) { line += random.pick(["[a,b]", "[ a , b ]", "[]", "[a b]", "[Extra_1]"]) }
        switch random.below(10) {
        case 0: line += " @ https://example.com/p-1.0.whl"
        case 1, 2: break
        case 3: line += " (" + specifier + ")"
        default: line += random.pick(["", " "]) + specifier
        }
        if random.chance(40) { line += random.pick([" ; ", ";", "; "]) + marker() }
        return line
    }
}
