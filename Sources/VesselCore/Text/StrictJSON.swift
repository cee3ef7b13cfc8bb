/// The one strict JSON reader (RFC 8259) behind every parser of untrusted JSON in Vessel:
/// safetensors headers and shard indexes, signing bundles and Keras configs. Each keeps its
/// own error type and maps ``StrictJSONError`` onto it.
///
/// Differences from Foundation's decoders, on purpose:
/// - a key repeated in one object is an error (``Options/rejectsDuplicateKeys``);
/// - nesting is capped (``Options/depthLimit``), so hostile input cannot exhaust the stack;
/// - escapes are decoded strictly: lone UTF-16 surrogates (`"\ud800"`) are errors;
/// - control characters in strings, invalid UTF-8, a byte-order mark, `NaN`/`Infinity`,
///   leading zeros and trailing commas are errors.
///
/// Two ways to read: ``nextToken()`` streams tokens (memory bounded by the depth limit,
/// for walking a large document), ``parseValue()`` builds a ``StrictJSONValue`` tree from
/// them. It works on bytes, never traps, and allocates only for what it returns (one buffer
/// per string with escapes, none per byte).
public struct StrictJSONReader {
    /// How deep arrays and objects may nest. Two rules exist because the formats counted
    /// differently and their limits are part of what they accept.
    public enum DepthLimit: Sendable, Equatable {
        /// At most `n` arrays and objects open at once (the safetensors header's rule).
        case openContainers(Int)
        /// No value, scalar or container, inside more than `n` arrays and objects (so an
        /// empty container may sit at level `n + 1`): the signing bundle's and Keras' rule.
        case enclosingContainers(Int)
    }

    public struct Options: Sendable, Equatable {
        public var depthLimit: DepthLimit
        public var rejectsDuplicateKeys: Bool
        /// Set when the caller has already checked that every byte is UTF-8 (the
        /// safetensors header is checked whole first, for its own error); strings are then
        /// not checked again.
        public var inputIsValidUTF8: Bool

        public init(depthLimit: DepthLimit, rejectsDuplicateKeys: Bool = true, inputIsValidUTF8: Bool = false) {
            self.depthLimit = depthLimit
            self.rejectsDuplicateKeys = rejectsDuplicateKeys
            self.inputIsValidUTF8 = inputIsValidUTF8
        }
    }

    /// What the next token may be.
    private enum State {
        /// A value: the document's, a member's after its `:`, or an array element after `,`.
        case value
        /// The first member's key or `}`.
        case firstKey
        /// The first element or `]`.
        case firstElement
        /// A member's key, after `,`.
        case key
        /// `,` or the end of the innermost container; the end of input at the top.
        case afterValue
        /// The document's value has been read.
        case done
    }

    private let bytes: UnsafeRawBufferPointer
    private let options: Options
    /// Index of the next unread byte.
    public private(set) var position: Int
    /// Where the token last returned by ``nextToken()`` starts.
    public private(set) var tokenOffset: Int
    private var state = State.value
    /// Whether each open container is an object (true) or an array, innermost last.
    private var open: [Bool] = []
    /// Containers around the reader's start (when it reads one value inside a document).
    private let outerDepth: Int

    /// A reader of one value in `bytes` from `position`; `depth` is the number of arrays
    /// and objects around it, counted for the depth limit. `bytes` must outlive the reader.
    public init(bytes: UnsafeRawBufferPointer, position: Int = 0, depth: Int = 0, options: Options) {
        self.bytes = bytes
        self.position = position
        self.tokenOffset = position
        self.outerDepth = depth
        self.options = options
    }

    /// Reads exactly one value with only JSON whitespace around it.
    public static func parseDocument(_ bytes: UnsafeRawBufferPointer, options: Options) throws(StrictJSONError) -> StrictJSONValue {
        var reader = StrictJSONReader(bytes: bytes, options: options)
        let value = try reader.parseValue()
        reader.skipWhitespace()
        guard reader.position == bytes.count else { throw reader.fail("unexpected data after the JSON value") }
        return value
    }

    /// Skips JSON whitespace (space, tab, LF, CR).
    public mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    // MARK: Tokens

    /// The next token of the value, checked against the grammar and the depth limit; nil
    /// once the value is complete (the bytes after it are left unread). Object members come
    /// as `.key` followed by the value's tokens. Duplicate keys are not checked here (that
    /// needs the object's keys; ``parseValue()`` does it).
    public mutating func nextToken() throws(StrictJSONError) -> StrictJSONToken? {
        switch state {
        case .done:
            return nil
        case .value:
            return try valueToken()
        case .firstElement:
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") { return close() }
            return try valueToken()
        case .firstKey:
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") { return close() }
            return try keyToken()
        case .key:
            return try keyToken()
        case .afterValue:
            skipWhitespace()
            let isObject = open[open.count - 1]
            guard position < bytes.count else { throw fail(isObject ? "unexpected end of input in object" : "unexpected end of input in array") }
            switch (bytes[position], isObject) {
            case (UInt8(ascii: ","), _):
                position += 1
                if isObject {
                    return try keyToken()
                }
                return try valueToken()
            case (UInt8(ascii: "}"), true), (UInt8(ascii: "]"), false):
                return close()
            default:
                throw fail(isObject ? "expected ',' or '}'" : "expected ',' or ']'")
            }
        }
    }

    private mutating func valueToken() throws(StrictJSONError) -> StrictJSONToken {
        skipWhitespace()
        tokenOffset = position
        let depth = outerDepth + open.count
        if case .enclosingContainers(let limit) = options.depthLimit, depth > limit { throw .tooDeep(offset: position) }
        guard position < bytes.count else { throw fail("unexpected end of input") }
        let token: StrictJSONToken
        switch bytes[position] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            if case .openContainers(let limit) = options.depthLimit, depth + 1 > limit { throw .tooDeep(offset: position) }
            let isObject = bytes[position] == UInt8(ascii: "{")
            position += 1
            open.append(isObject)
            state = isObject ? .firstKey : .firstElement
            return isObject ? .objectStart : .arrayStart
        case UInt8(ascii: "\""): token = .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); token = .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); token = .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); token = .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): token = .number(try parseNumber())
        default: throw fail("unexpected character")
        }
        state = open.isEmpty ? .done : .afterValue
        return token
    }

    private mutating func keyToken() throws(StrictJSONError) -> StrictJSONToken {
        skipWhitespace()
        tokenOffset = position
        guard position < bytes.count else { throw fail("unexpected end of input in object") }
        guard bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
        let key = try parseString()
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':'") }
        position += 1
        state = .value
        return .key(key)
    }

    /// Consumes the closing bracket at `position`.
    private mutating func close() -> StrictJSONToken {
        tokenOffset = position
        position += 1
        let isObject = open.removeLast()
        state = open.isEmpty ? .done : .afterValue
        return isObject ? .objectEnd : .arrayEnd
    }

    // MARK: Values

    /// Reads the value (the rest of it, after tokens already taken) as a tree, rejecting
    /// duplicate keys when the options say so.
    public mutating func parseValue() throws(StrictJSONError) -> StrictJSONValue {
        guard let token = try nextToken() else { throw fail("unexpected end of input") }
        return try value(startingWith: token)
    }

    private mutating func value(startingWith token: StrictJSONToken) throws(StrictJSONError) -> StrictJSONValue {
        switch token {
        case .objectStart: return try object()
        case .arrayStart: return try array()
        case .string(let text): return .string(text)
        case .number(let number): return .number(number)
        case .bool(let flag): return .bool(flag)
        case .null: return .null
        case .key, .objectEnd, .arrayEnd: throw .syntax(offset: tokenOffset, reason: "unexpected token")  // not produced here
        }
    }

    private mutating func object() throws(StrictJSONError) -> StrictJSONValue {
        var members: [StrictJSONMember] = []
        // Small objects (tensor entries) are checked by linear scan; large ones by a set.
        var seen: Set<String>? = nil
        while let token = try nextToken() {
            guard case .key(let key) = token else { return .object(members) }
            if options.rejectsDuplicateKeys {
                if seen != nil {
                    // Optional chaining mutates the set in place (no copy per insert).
                    guard seen?.insert(key).inserted == true else { throw .duplicateKey(key, offset: tokenOffset) }
                } else {
                    for member in members where member.key == key { throw .duplicateKey(key, offset: tokenOffset) }
                    if members.count >= 16 { seen = Set(members.map(\.key) + [key]) }
                }
            }
            members.append(StrictJSONMember(key: key, value: try parseValue()))
        }
        return .object(members)
    }

    private mutating func array() throws(StrictJSONError) -> StrictJSONValue {
        var elements: [StrictJSONValue] = []
        while let token = try nextToken() {
            if case .arrayEnd = token { break }
            elements.append(try value(startingWith: token))
        }
        return .array(elements)
    }

    // MARK: Scalars

    private func fail(_ reason: String) -> StrictJSONError {
        .syntax(offset: position, reason: reason)
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(StrictJSONError) {
        let count = literal.utf8CodeUnitCount
        let base = literal.utf8Start
        for index in 0..<count {
            guard position < bytes.count else { throw fail("unexpected end of input") }
            guard bytes[position] == base[index] else { throw fail("invalid literal") }
            position += 1
        }
    }

    /// Reads a number literal: `-? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)?`.
    private mutating func parseNumber() throws(StrictJSONError) -> StrictJSONNumber {
        let start = position
        let negative = bytes[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else { throw fail("expected a digit") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count, isDigit(bytes[position]) { throw fail("leading zero in number") }
        } else {
            skipDigits()
        }
        let integerEnd = position
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw fail("expected a digit after '.'") }
            skipDigits()
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard position < bytes.count, isDigit(bytes[position]) else { throw fail("expected a digit in exponent") }
            skipDigits()
        }
        let literal = UnsafeRawBufferPointer(rebasing: bytes[start..<position])
        let integral = !negative && integerEnd == position
        return StrictJSONNumber(
            text: String(decoding: literal, as: UTF8.self),
            unsignedValue: integral ? StrictJSONNumber.unsignedValue(of: literal) : nil
        )
    }

    private mutating func skipDigits() {
        while position < bytes.count, isDigit(bytes[position]) { position += 1 }
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// Reads a string literal starting at the opening quote.
    private mutating func parseString() throws(StrictJSONError) -> String {
        position += 1  // opening quote
        let start = position
        // Fast path: no escapes, the bytes between the quotes are the string.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<position])
                try checkUTF8(slice, at: start)
                position += 1
                return String(decoding: slice, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw fail("control character in string") }
            position += 1
        }
        guard position < bytes.count else { throw fail("unterminated string") }
        var utf8 = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                // Escapes add whole scalars, so the text is UTF-8 exactly when its raw bytes are.
                try checkUTF8(UnsafeRawBufferPointer(rebasing: bytes[start..<position]), at: start)
                position += 1
                return String(decoding: utf8, as: UTF8.self)
            }
            if byte < 0x20 { throw fail("control character in string") }
            if byte != UInt8(ascii: "\\") {
                utf8.append(byte)
                position += 1
                continue
            }
            position += 1
            guard position < bytes.count else { throw fail("unterminated escape") }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""): utf8.append(0x22)
            case UInt8(ascii: "\\"): utf8.append(0x5C)
            case UInt8(ascii: "/"): utf8.append(0x2F)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                let scalar = try parseUnicodeEscape()
                UTF8.encode(scalar) { utf8.append($0) }
            default:
                position -= 1
                throw fail("invalid escape")
            }
        }
        throw fail("unterminated string")
    }

    /// Unless the caller vouched for the input, fails at the first byte of `slice` (which
    /// starts at offset `start`) that is not UTF-8.
    private func checkUTF8(_ slice: UnsafeRawBufferPointer, at start: Int) throws(StrictJSONError) {
        guard !options.inputIsValidUTF8 else { return }
        var iterator = slice.makeIterator()
        var decoder = UTF8()
        var offset = start
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return
            case .error: throw .syntax(offset: offset, reason: "string is not valid UTF-8")
            }
        }
    }

    /// Reads the `XXXX` after `\u` (and a following `\uXXXX` low surrogate when needed).
    private mutating func parseUnicodeEscape() throws(StrictJSONError) -> Unicode.Scalar {
        let first = try parseHex4()
        var value = UInt32(first)
        if (0xD800...0xDBFF).contains(first) {
            guard bytes.count - position >= 6,
                bytes[position] == UInt8(ascii: "\\"),
                bytes[position + 1] == UInt8(ascii: "u")
            else { throw fail("lone leading surrogate in \\u escape") }
            position += 2
            let second = try parseHex4()
            guard (0xDC00...0xDFFF).contains(second) else { throw fail("invalid trailing surrogate in \\u escape") }
            value = 0x10000 + ((UInt32(first) - 0xD800) << 10) + (UInt32(second) - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(first) {
            throw fail("lone trailing surrogate in \\u escape")
        }
        guard let scalar = Unicode.Scalar(value) else { throw fail("invalid \\u escape") }
        return scalar
    }

    private mutating func parseHex4() throws(StrictJSONError) -> UInt16 {
        guard bytes.count - position >= 4 else { throw fail("truncated \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("invalid hex digit in \\u escape")
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }
}
