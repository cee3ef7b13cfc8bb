/// A PEP 508 environment marker (`python_version < "3.10" and (sys_platform == "linux" or
/// extra == "gpu")`): comparisons of marker variables and quoted strings joined by `and`
/// (binding tighter) and `or`, with parentheses.
///
/// Evaluation follows `packaging` 26: for the version variables (`python_version`,
/// `python_full_version`, `implementation_version`, `platform_release`) a comparison whose
/// right side makes a valid specifier is a PEP 440 check with pre-releases admitted; anything
/// else compares strings, where `<` and `>` are false, `<=` and `>=` mean equal, and `~=`,
/// `===` are undefined (an error).
public indirect enum Marker: Sendable, Hashable, CustomStringConvertible {
    public enum Operand: Sendable, Hashable, CustomStringConvertible {
        case variable(String)
        case literal(String)

        public var description: String {
            switch self {
            case .variable(let name): name
            case .literal(let text): text.contains("\"") ? "'\(text)'" : "\"\(text)\""
            }
        }
    }

    public enum Operator: String, Sendable, Hashable {
        case arbitrary = "===", compatible = "~=", equal = "==", notEqual = "!=", lessOrEqual = "<="
        case greaterOrEqual = ">=", less = "<", greater = ">", isIn = "in", notIn = "not in"
    }

    case compare(Operand, Operator, Operand)
    case and([Marker])
    case or([Marker])

    /// Variables whose values are versions.
    static let versionVariables: Set<String> = ["python_version", "python_full_version", "implementation_version", "platform_release"]

    /// Parses a whole marker expression.
    /// - Throws: `MarkerError` with the offset of the first unexpected character.
    public init(_ text: String) throws(MarkerError) {
        var parser = MarkerParser(text)
        self = try parser.fullMarker()
    }

    public var description: String { render(top: true) }

    private func render(top: Bool) -> String {
        switch self {
        case .compare(let l, let op, let r): return "\(l) \(op.rawValue) \(r)"
        case .and(let parts): return wrap(parts.map { $0.render(top: false) }.joined(separator: " and "), top)
        case .or(let parts): return wrap(parts.map { $0.render(top: false) }.joined(separator: " or "), top)
        }
    }

    private func wrap(_ text: String, _ top: Bool) -> String { top ? text : "(" + text + ")" }

    /// The marker's value in `environment`.
    /// - Throws: `MarkerError` for a variable the environment lacks or an undefined comparison.
    public func evaluate(in environment: MarkerEnvironment) throws(MarkerError) -> Bool {
        switch self {
        // Every operand is evaluated, as packaging does, so an undefined comparison is an
        // error wherever it stands, not only where it decides the result.
        case .and(let parts):
            var result = true
            for part in parts where !(try part.evaluate(in: environment)) { result = false }
            return result
        case .or(let parts):
            var result = false
            for part in parts where try part.evaluate(in: environment) { result = true }
            return result
        case .compare(let left, let op, let right):
            let key: String
            let lhs: String
            let rhs: String
            switch (left, right) {
            case (.variable(let name), _):
                key = name
                lhs = try environment.value(of: name)
                rhs = key == "extra" ? PackageName.normalize(right.rawText) : right.rawText
            case (.literal(let text), _):
                key = right.rawText
                lhs = key == "extra" ? PackageName.normalize(text) : text
                rhs = try environment.value(of: key)
            }
            return try Self.compare(lhs, op, rhs, key: key)
        }
    }

    static func compare(_ lhs: String, _ op: Operator, _ rhs: String, key: String) throws(MarkerError) -> Bool {
        if versionVariables.contains(key), op != .isIn, op != .notIn, let specifier = try? VersionSpecifier(op.rawValue + rhs) {
            return specifier.contains(lhs)
        }
        switch op {
        case .isIn: return rhs.utf8.containsBytes(of: lhs)
        case .notIn: return !rhs.utf8.containsBytes(of: lhs)
        case .equal, .lessOrEqual, .greaterOrEqual: return lhs.utf8.elementsEqual(rhs.utf8)
        case .notEqual: return !lhs.utf8.elementsEqual(rhs.utf8)
        case .less, .greater: return false
        case .compatible, .arbitrary:
            throw MarkerError(text: "\(lhs) \(op.rawValue) \(rhs)", offset: nil, reason: "'\(op.rawValue)' is undefined on '\(lhs)' and '\(rhs)' (\(key) is compared as a string)")
        }
    }
}

extension String.UTF8View {
    /// Whether `other`'s bytes occur in these (code point substring, as Python's `in`).
    func containsBytes(of other: String) -> Bool {
        let needle = Array(other.utf8)
        if needle.isEmpty { return true }
        let haystack = Array(self)
        guard haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}

extension Marker.Operand {
    /// The variable's name or the literal's text.
    var rawText: String {
        switch self {
        case .variable(let name): name
        case .literal(let text): text
        }
    }
}

/// A marker that does not parse, or cannot be evaluated.
public struct MarkerError: Error, Sendable, Equatable, CustomStringConvertible {
    public let text: String
    /// Where parsing stopped (characters from the start), when it did.
    public let offset: Int?
    public let reason: String
    public var description: String {
        if let offset { return "\(reason) at column \(offset + 1) of marker '\(text)'" }
        return reason
    }
}
