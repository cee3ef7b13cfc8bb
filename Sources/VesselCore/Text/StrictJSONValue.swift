/// A JSON value read by ``StrictJSONReader``. Object members keep their document order;
/// when the reader rejects duplicate keys (the default) a lookup by key is unambiguous.
public enum StrictJSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(StrictJSONNumber)
    case string(String)
    case array([StrictJSONValue])
    case object([StrictJSONMember])

    /// Member `key` of an object (the first one, if duplicates were allowed), or `nil`
    /// (also for non-objects).
    public subscript(key: String) -> StrictJSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.key == key })?.value
    }

    /// The keys of an object in document order, or `[]`.
    public var keys: [String] {
        guard case .object(let members) = self else { return [] }
        return members.map(\.key)
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var arrayValue: [StrictJSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// A short name of the value's kind, for messages ("an object", "a number", …).
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// One `"key": value` pair of a JSON object.
public struct StrictJSONMember: Sendable, Equatable {
    public let key: String
    public let value: StrictJSONValue

    public init(key: String, value: StrictJSONValue) {
        self.key = key
        self.value = value
    }
}

/// A JSON number: its text, checked against the JSON grammar but not converted, and its
/// value when it is a non-negative integer that fits in 64 bits.
public struct StrictJSONNumber: Sendable, Equatable {
    /// The literal as written (`-2.5e3`).
    public let text: String
    /// The value when the literal is a non-negative integer (no sign, fraction or exponent)
    /// below 2^64; nil otherwise. `-0` is not one: no producer writes it.
    public let unsignedValue: UInt64?

    /// A number from its literal text; `text` should follow the JSON grammar (the reader
    /// guarantees it; other text just has no `unsignedValue` unless it is all digits).
    public init(_ text: String) {
        self.init(text: text, unsignedValue: Self.unsignedValue(of: text.utf8))
    }

    init(text: String, unsignedValue: UInt64?) {
        self.text = text
        self.unsignedValue = unsignedValue
    }

    /// The value of a run of ASCII digits, or nil for an empty run, another byte or overflow.
    static func unsignedValue<Digits: Collection<UInt8>>(of digits: Digits) -> UInt64? {
        guard !digits.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(byte &- UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            value = sum
        }
        return value
    }
}

/// Why ``StrictJSONReader`` stopped. Offsets are byte offsets into the reader's input.
public enum StrictJSONError: Error, Sendable, Equatable {
    /// The bytes are not JSON at `offset`; `reason` says what was expected or found.
    case syntax(offset: Int, reason: String)
    /// The value starting at `offset` nests deeper than the reader's ``StrictJSONReader/DepthLimit``.
    case tooDeep(offset: Int)
    /// `key` appears twice in one object; `offset` is where the second one starts.
    case duplicateKey(String, offset: Int)
}

/// One token of ``StrictJSONReader/nextToken()``: containers as start and end, a member's
/// key before its value, scalars decoded.
public enum StrictJSONToken: Sendable, Equatable {
    case objectStart
    case objectEnd
    case arrayStart
    case arrayEnd
    case key(String)
    case string(String)
    case number(StrictJSONNumber)
    case bool(Bool)
    case null
}
