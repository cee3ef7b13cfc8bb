import VesselCore

/// Reads bundle and statement JSON with VesselCore's ``StrictJSONReader``, failing closed:
/// duplicate object keys, invalid UTF-8, unpaired surrogate escapes, control characters in
/// strings, a byte-order mark, `NaN`/`Infinity`, trailing commas and trailing
/// non-whitespace are errors; no value may sit inside more than `maxDepth` arrays and objects.
enum StrictJSONParser {
    struct ParseError: Error, Equatable, CustomStringConvertible {
        var offset: Int
        var reason: String
        var description: String { "\(reason) at byte \(offset)" }
    }

    /// Parses exactly one JSON value, surrounded by optional whitespace.
    static func parse(_ bytes: [UInt8], maxDepth: Int = BundleFormat.maxJSONDepth) throws(ParseError) -> JSONValue {
        let options = StrictJSONReader.Options(depthLimit: .enclosingContainers(maxDepth))
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(StrictJSONError) in try StrictJSONReader.parseDocument(buffer, options: options) }
        }
        switch result {
        case .success(let value): return value
        case .failure(.syntax(let offset, let reason)): throw ParseError(offset: offset, reason: reason)
        case .failure(.tooDeep(let offset)): throw ParseError(offset: offset, reason: "nesting deeper than \(maxDepth)")
        case .failure(.duplicateKey(let key, let offset)): throw ParseError(offset: offset, reason: "duplicate key \"\(key)\"")
        }
    }
}
