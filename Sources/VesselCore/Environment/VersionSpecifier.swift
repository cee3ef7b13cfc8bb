/// One PEP 440 version clause: `~=`, `==`, `!=`, `<=`, `>=`, `<`, `>` with a version, `==`/`!=`
/// with a `.*` prefix, or `===` with any string.
///
/// Membership follows PEP 440 as `packaging` 26 implements it, with pre-releases always
/// admitted (`prereleases=True`, as `pip check` judges an installed version):
/// - `==V` matches V with any local label unless V has one; `!=V` is its complement.
/// - `==V.*` matches `[V.dev0, next prefix .dev0)`; `!=V.*` is its complement.
/// - `<V` (V final) ends at `V.dev0`, so V's own pre-releases are out; `<=V` takes V's locals.
/// - `>V` (V final or pre) starts above V's post-releases and locals; `>V.postN` at
///   `V.post(N+1).dev0`; `>V.devN` at `V.dev(N+1)`.
/// - `~=V` is `>=V` up to the next `.dev0` of V's release without its last number.
/// - `===S` compares the text, ignoring case.
public struct VersionSpecifier: Sendable, Hashable, CustomStringConvertible {
    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case arbitrary = "===", compatible = "~=", equal = "==", notEqual = "!=", lessOrEqual = "<="
        case greaterOrEqual = ">=", less = "<", greater = ">"
    }

    public let op: Operator
    /// The version as written (for `===`, the string compared).
    public let text: String
    /// The version, without `.*` (nil only for `===`).
    public let version: PythonVersion?
    /// `==V.*` or `!=V.*`.
    public let isWildcard: Bool

    /// Parses one clause such as `>= 1.0` (whitespace around and after the operator allowed).
    /// - Throws: `SpecifierError` when it is not a PEP 440 specifier.
    public init(_ clause: String) throws(SpecifierError) {
        let trimmed = clause.trimmingSpaces
        guard let op = Operator.allCases.first(where: { trimmed.hasPrefix($0.rawValue) }) else {
            throw SpecifierError(text: clause, reason: "no operator (one of ~= == != <= >= < > ===)")
        }
        let rest = String(trimmed.dropFirst(op.rawValue.count)).trimmingSpaces
        self.op = op
        self.text = rest
        if op == .arbitrary {
            guard !rest.utf8.contains(where: { VersionScanner.isSpace($0) || $0 == 0x3B || $0 == 0x29 }) else {
                throw SpecifierError(text: clause, reason: "'===' takes a string without spaces, ';' or ')'")
            }
            version = nil
            isWildcard = false
            return
        }
        isWildcard = rest.hasSuffix(".*")
        let versionText = isWildcard ? String(rest.dropLast(2)) : rest
        guard let version = PythonVersion.parse(versionText), !versionText.isEmpty, !versionText.utf8.contains(where: VersionScanner.isSpace) else {
            throw SpecifierError(text: clause, reason: "'\(rest)' is not a PEP 440 version")
        }
        if isWildcard {
            guard op == .equal || op == .notEqual else { throw SpecifierError(text: clause, reason: ".* is allowed only with == and !=") }
            guard version.pre == nil, version.post == nil, version.dev == nil, version.local == nil else {
                throw SpecifierError(text: clause, reason: ".* cannot follow a pre-, post-, dev- or local version")
            }
        }
        if version.local != nil && op != .equal && op != .notEqual {
            throw SpecifierError(text: clause, reason: "a local version is allowed only with == and !=")
        }
        if op == .compatible && version.release.count < 2 {
            throw SpecifierError(text: clause, reason: "~= needs at least two release numbers")
        }
        self.version = version
    }

    public var description: String { op.rawValue + text }

    /// Whether `candidate` (a version string, as installed) satisfies this clause; a string that
    /// is not a version satisfies only `===` with the same text.
    public func contains(_ candidate: String) -> Bool {
        if op == .arbitrary { return candidate.lowercased() == text.lowercased() }
        guard let parsed = PythonVersion.parse(candidate) else { return false }
        return contains(parsed)
    }

    /// Whether `candidate` satisfies this clause (`===` compares its normal form).
    public func contains(_ candidate: PythonVersion) -> Bool {
        guard let version else { return candidate.description.lowercased() == text.lowercased() }
        if isWildcard {
            let inside = candidate >= Self.dev0(epoch: version.epoch, release: version.release)
                && candidate < Self.nextPrefixDev0(epoch: version.epoch, release: version.release)
            return op == .equal ? inside : !inside
        }
        switch op {
        case .arbitrary:
            return false
        case .equal:
            return equals(candidate, version)
        case .notEqual:
            return !equals(candidate, version)
        case .greaterOrEqual:
            return candidate >= version
        case .lessOrEqual:
            return candidate <= version || Self.inLocalFamily(candidate, of: version)
        case .less:
            if version.isPrerelease { return candidate < version }
            var bound = version.publicVersion
            bound.dev = 0
            return candidate < bound
        case .greater:
            return greater(candidate, than: version)
        case .compatible:
            let prefix = Array(version.release.dropLast())
            return candidate >= version && candidate < Self.nextPrefixDev0(epoch: version.epoch, release: prefix)
        }
    }

    private func equals(_ candidate: PythonVersion, _ version: PythonVersion) -> Bool {
        if version.local != nil { return candidate == version }
        return candidate >= version && (candidate <= version || Self.inLocalFamily(candidate, of: version))
    }

    private func greater(_ candidate: PythonVersion, than version: PythonVersion) -> Bool {
        if let dev = version.dev {
            var bound = version.publicVersion
            bound.dev = dev &+ 1
            return candidate >= bound
        }
        if let post = version.post {
            var bound = version.publicVersion
            bound.post = post &+ 1
            bound.dev = 0
            return candidate >= bound
        }
        guard candidate > version else { return false }
        // Above V, but V's post-releases and local versions stay below the bound.
        return !(candidate.sharesRelease(with: version) && candidate.samePre(as: version))
    }

    /// `candidate` is `version` with some local label (same public version).
    static func inLocalFamily(_ candidate: PythonVersion, of version: PythonVersion) -> Bool {
        candidate.sharesRelease(with: version) && candidate.samePre(as: version)
            && candidate.post == version.post && candidate.dev == version.dev
    }

    static func dev0(epoch: UInt64, release: [UInt64]) -> PythonVersion {
        PythonVersion(epoch: epoch, release: release, dev: 0)
    }

    /// The first version past the prefix `release`: `1.2` → `1.3.dev0`.
    static func nextPrefixDev0(epoch: UInt64, release: [UInt64]) -> PythonVersion {
        var next = release
        next[next.count - 1] &+= 1
        return PythonVersion(epoch: epoch, release: next, dev: 0)
    }
}

/// A string that is not a PEP 440 version specifier.
public struct SpecifierError: Error, Sendable, Equatable, CustomStringConvertible {
    public let text: String
    public let reason: String
    public var description: String { "'\(text)' is not a version specifier: \(reason)" }
}

extension String {
    /// Without ASCII whitespace at either end.
    var trimmingSpaces: String {
        let bytes = Array(utf8)
        var start = 0
        var end = bytes.count
        while start < end && VersionScanner.isSpace(bytes[start]) { start += 1 }
        while end > start && VersionScanner.isSpace(bytes[end - 1]) { end -= 1 }
        if start == 0 && end == bytes.count { return self }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
