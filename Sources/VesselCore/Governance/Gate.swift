/// A promotion gate, parsed from its string form.
public enum Gate: Hashable, Sendable, CustomStringConvertible {
    /// Every file scanned clean.
    case scanClean
    /// Every weight file is safetensors (no pickle-based format).
    case safetensorsOnly
    /// A trusted signature by the named key.
    case signedBy(String)
    /// The latest report of check NAME for this content (manifest digest) by an allowed reporter passed.
    /// `reporters` (`check:NAME@a|b`) are the principals allowed to report it; nil allows
    /// anyone. The version's creator is never allowed unless `reporters` names them.
    case check(String, reporters: [String]? = nil)
    /// The latest reported value of a metric compared with a bound.
    case metric(key: String, op: Comparison, value: Double)
    /// The version links a training run that read at least one dataset revision (issue 25).
    case lineage

    /// The scanned formats (`ScanFormat` raw values in a version's scan report) that
    /// `safetensors-only` admits: the formats of the `safetensors` and `data` families.
    /// VesselMetadata judges the gate without the scanner, so the names are kept here;
    /// `ValidationAPITests` checks them against `ScanFormat.family`.
    public static let safetensorsOnlyFormats: Set<String> = ["safetensors", "data"]

    public enum Comparison: String, Sendable, CaseIterable {
        case greaterOrEqual = ">="
        case lessOrEqual = "<="
        case equal = "=="
        case greater = ">"
        case less = "<"

        public func holds(_ lhs: Double, _ rhs: Double) -> Bool {
            switch self {
            case .greaterOrEqual: lhs >= rhs
            case .lessOrEqual: lhs <= rhs
            case .equal: lhs == rhs
            case .greater: lhs > rhs
            case .less: lhs < rhs
            }
        }
    }

    public init(_ text: String) throws(VesselError) {
        func name(_ value: Substring) throws(VesselError) -> String {
            let value = String(value)
            guard !value.isEmpty, value.count <= 128, value.allSatisfy({ $0.isLetter || $0.isNumber || "._-/".contains($0) }) else {
                throw .invalidArgument("gate '\(text)' names '\(value)', which must be letters, digits, '.', '_', '-' or '/'")
            }
            return value
        }
        if text == "scan-clean" {
            self = .scanClean
        } else if text == "safetensors-only" {
            self = .safetensorsOnly
        } else if text == "lineage" {
            self = .lineage
        } else if text.hasPrefix("signed-by:") {
            self = .signedBy(try name(text.dropFirst(10)))
        } else if text.hasPrefix("check:") {
            let body = text.dropFirst(6)
            guard let at = body.firstIndex(of: "@") else {
                self = .check(try name(body))
                return
            }
            let reporters = body[body.index(after: at)...].split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            for reporter in reporters where !NameRules.isValidModelPart(reporter) {
                throw .invalidArgument("gate '\(text)' names reporter '\(reporter)', which must be a principal name: 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
            }
            self = .check(try name(body[..<at]), reporters: reporters)
        } else if text.hasPrefix("metric:") {
            let body = text.dropFirst(7)
            // Two-character operators first, so ">=" is not read as ">".
            for op in Comparison.allCases {
                if let range = body.range(of: op.rawValue) {
                    let key = try name(body[..<range.lowerBound])
                    guard let value = Double(body[range.upperBound...]), value.isFinite else {
                        throw .invalidArgument("gate '\(text)' needs a number after \(op.rawValue)")
                    }
                    self = .metric(key: key, op: op, value: value)
                    return
                }
            }
            throw .invalidArgument("gate '\(text)' needs one of >= > <= < ==")
        } else {
            throw .invalidArgument("unknown gate '\(text)': use scan-clean, safetensors-only, lineage, signed-by:KEY, check:NAME, check:NAME@PRINCIPAL|… or metric:KEY>=VALUE")
        }
    }

    public var description: String {
        switch self {
        case .scanClean: "scan-clean"
        case .safetensorsOnly: "safetensors-only"
        case .lineage: "lineage"
        case .signedBy(let key): "signed-by:\(key)"
        case .check(let name, nil): "check:\(name)"
        case .check(let name, let reporters?): "check:\(name)@" + reporters.joined(separator: "|")
        case .metric(let key, let op, let value):
            "metric:\(key)\(op.rawValue)\(value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value))"
        }
    }
}
