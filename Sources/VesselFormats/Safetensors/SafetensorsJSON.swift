/// A JSON value as the strict header parser sees it. Object members keep their order and
/// are guaranteed free of duplicate keys.
enum SafetensorsJSONValue: Sendable {
    case object([SafetensorsJSONMember])
    case array([SafetensorsJSONValue])
    case string(String)
    case number(SafetensorsJSONNumber)
    case bool(Bool)
    case null

    /// A short name of the value's kind, for messages.
    var kindName: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }
}

/// One `"key": value` pair of a JSON object.
struct SafetensorsJSONMember: Sendable {
    let key: String
    let value: SafetensorsJSONValue
}

/// A JSON number, kept only as far as the header needs: an unsigned 64-bit integer when it
/// is one, otherwise just the fact that it is not.
struct SafetensorsJSONNumber: Sendable, Equatable {
    /// The value when the literal is a non-negative integer (no fraction, no exponent) that
    /// fits in 64 bits; nil otherwise.
    let unsignedValue: UInt64?
}

/// Why the strict JSON parser stopped.
enum SafetensorsJSONFailure: Error, Sendable, Equatable {
    case syntax(offset: Int, reason: String)
    case tooDeep(offset: Int)
    case duplicateKey(String)
}
