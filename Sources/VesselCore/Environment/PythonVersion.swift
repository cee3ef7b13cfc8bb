/// A Python package version as PEP 440 defines it: `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`,
/// parsed from any of the spellings PEP 440 normalizes (`v1.0`, `1.0-1`, `1.0alpha2`, `1.0.PRE`,
/// `1.0_dev-3`), compared by PEP 440's order and printed in its normal form.
///
/// Two versions are equal when their normal forms compare equal with trailing zeros of the
/// release ignored (`1.0 == 1.0.0`); the local label takes part (`1.0+a != 1.0`).
///
/// Limit: every number must fit in 64 bits (below 18,446,744,073,709,551,616); Python's
/// `packaging` has no bound, and a larger number is refused here with `PythonVersionError`.
public struct PythonVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The pre-release phase, in order.
    public enum Phase: Int, Sendable, Hashable, Comparable {
        case alpha = 0, beta = 1, candidate = 2
        public static func < (a: Phase, b: Phase) -> Bool { a.rawValue < b.rawValue }
        var label: String {
            switch self {
            case .alpha: "a"
            case .beta: "b"
            case .candidate: "rc"
            }
        }
    }

    /// One dot-separated part of a local label: numbers compare as numbers and above any text.
    public enum LocalPart: Sendable, Hashable, Comparable, CustomStringConvertible {
        case text(String)
        case number(UInt64)

        public static func < (a: LocalPart, b: LocalPart) -> Bool {
            switch (a, b) {
            case (.text(let x), .text(let y)): Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
            case (.number(let x), .number(let y)): x < y
            case (.text, .number): true
            case (.number, .text): false
            }
        }

        public var description: String {
            switch self {
            case .text(let text): text
            case .number(let number): String(number)
            }
        }
    }

    public var epoch: UInt64
    public var release: [UInt64]
    public var pre: (phase: Phase, number: UInt64)?
    public var post: UInt64?
    public var dev: UInt64?
    public var local: [LocalPart]?

    public init(epoch: UInt64 = 0, release: [UInt64], pre: (phase: Phase, number: UInt64)? = nil, post: UInt64? = nil, dev: UInt64? = nil, local: [LocalPart]? = nil) {
        precondition(!release.isEmpty, "a release has at least one number")
        self.epoch = epoch
        self.release = release
        self.pre = pre
        self.post = post
        self.dev = dev
        self.local = local
    }

    /// Parses `text` (surrounding whitespace allowed, letters in any case).
    /// - Throws: `PythonVersionError` when `text` is not a PEP 440 version.
    public init(_ text: String) throws(PythonVersionError) {
        var scanner = VersionScanner(text)
        guard let version = scanner.version(), scanner.atEnd else { throw PythonVersionError(text: text) }
        self = version
    }

    /// `text` parsed, or nil when it is not a PEP 440 version.
    public static func parse(_ text: String) -> PythonVersion? { try? PythonVersion(text) }

    /// A dev or pre-release (`1.0a1`, `1.0.dev3`): what `prereleases` is about.
    public var isPrerelease: Bool { pre != nil || dev != nil }
    public var isPostrelease: Bool { post != nil }

    /// The release with trailing zeros removed (at least one number kept): `1.2.0` → `1.2`.
    public var trimmedRelease: ArraySlice<UInt64> {
        var end = release.count
        while end > 1 && release[end - 1] == 0 { end -= 1 }
        return release[0..<end]
    }

    /// This version without its local label.
    public var publicVersion: PythonVersion {
        var copy = self
        copy.local = nil
        return copy
    }

    /// Same epoch and release (trailing zeros ignored) as `other`.
    func sharesRelease(with other: PythonVersion) -> Bool {
        epoch == other.epoch && trimmedRelease == other.trimmedRelease
    }

    func samePre(as other: PythonVersion) -> Bool {
        pre?.phase == other.pre?.phase && pre?.number == other.pre?.number
    }

    /// PEP 440's normal form.
    public var description: String {
        var text = epoch == 0 ? "" : "\(epoch)!"
        text += release.map(String.init).joined(separator: ".")
        if let pre { text += pre.phase.label + String(pre.number) }
        if let post { text += ".post\(post)" }
        if let dev { text += ".dev\(dev)" }
        if let local { text += "+" + local.map(\.description).joined(separator: ".") }
        return text
    }

    // MARK: Order

    /// The pre/post/dev part of the order: a dev-only release sorts before every pre-release,
    /// a release without a pre-release after them; no post before any post; a dev before none.
    private var suffixKey: (Int, UInt64, Int, UInt64, Int, UInt64) {
        let preRank: Int
        let preNumber: UInt64
        if let pre {
            (preRank, preNumber) = (pre.phase.rawValue, pre.number)
        } else if post == nil && dev != nil {
            (preRank, preNumber) = (-1, 0)
        } else {
            (preRank, preNumber) = (3, 0)
        }
        return (preRank, preNumber, post == nil ? 0 : 1, post ?? 0, dev == nil ? 1 : 0, dev ?? 0)
    }

    public static func < (a: PythonVersion, b: PythonVersion) -> Bool { compare(a, b) < 0 }

    public static func == (a: PythonVersion, b: PythonVersion) -> Bool { compare(a, b) == 0 }

    /// -1, 0 or 1 as `a` sorts before, with or after `b`.
    public static func compare(_ a: PythonVersion, _ b: PythonVersion) -> Int {
        if a.epoch != b.epoch { return a.epoch < b.epoch ? -1 : 1 }
        let ra = a.trimmedRelease, rb = b.trimmedRelease
        if ra != rb { return ra.lexicographicallyPrecedes(rb) ? -1 : 1 }
        let sa = a.suffixKey, sb = b.suffixKey
        if sa != sb { return sa < sb ? -1 : 1 }
        switch (a.local, b.local) {
        case (nil, nil): return 0
        case (nil, _): return -1
        case (_, nil): return 1
        case (let la?, let lb?):
            if la == lb { return 0 }
            return la.lexicographicallyPrecedes(lb) ? -1 : 1
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(epoch)
        hasher.combine(Array(trimmedRelease))
        hasher.combine(pre?.phase)
        hasher.combine(pre?.number)
        hasher.combine(post)
        hasher.combine(dev)
        hasher.combine(local)
    }
}

/// A string that is not a PEP 440 version.
public struct PythonVersionError: Error, Sendable, Equatable, CustomStringConvertible {
    public let text: String
    public var description: String { "'\(text)' is not a PEP 440 version" }
}
