/// A small strict JSON parser (RFC 8259) for safetensors headers and shard indexes.
///
/// Differences from Foundation's decoders, on purpose:
/// - a key repeated in one object is an error (Foundation keeps the last one);
/// - numbers are kept only as unsigned 64-bit integers (anything else is "not an integer");
/// - nesting is capped at ``SafetensorsLimits/maxJSONDepth``;
/// - escapes are decoded strictly: lone UTF-16 surrogates are errors.
///
/// The input must already be valid UTF-8 (see ``SafetensorsUTF8``). The parser never traps
/// and allocates only in proportion to the bytes it has actually read.
struct SafetensorsJSONParser {
    private let bytes: UnsafeRawBufferPointer
    /// Index of the next unread byte.
    private(set) var position: Int

    init(bytes: UnsafeRawBufferPointer, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    /// Parses one value starting at `position`, skipping whitespace before it.
    mutating func parseValue(depth: Int = 0) throws(SafetensorsJSONFailure) -> SafetensorsJSONValue {
        skipWhitespace()
        guard position < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw fail("unexpected character")
        }
    }

    /// Skips JSON whitespace (space, tab, LF, CR).
    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private func fail(_ reason: String) -> SafetensorsJSONFailure {
        .syntax(offset: position, reason: reason)
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(SafetensorsJSONFailure) {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - position >= count else { throw fail("unexpected end of input") }
        let base = literal.utf8Start
        for index in 0..<count where bytes[position + index] != base[index] {
            throw fail("invalid literal")
        }
        position += count
    }

    private mutating func parseObject(depth: Int) throws(SafetensorsJSONFailure) -> SafetensorsJSONValue {
        guard depth <= SafetensorsLimits.maxJSONDepth else { throw .tooDeep(offset: position) }
        position += 1  // "{"
        var members: [SafetensorsJSONMember] = []
        // Small objects (tensor entries) are checked by linear scan; large ones by a set.
        var seen: Set<String>? = nil
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count else { throw fail("unexpected end of input in object") }
            guard bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let key = try parseString()
            if seen != nil {
                // Optional chaining mutates the set in place (no copy per insert).
                guard seen?.insert(key).inserted == true else { throw .duplicateKey(key) }
            } else {
                for member in members where member.key == key { throw .duplicateKey(key) }
                if members.count >= 16 { seen = Set(members.map(\.key) + [key]) }
            }
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            position += 1
            let value = try parseValue(depth: depth)
            members.append(SafetensorsJSONMember(key: key, value: value))
            skipWhitespace()
            guard position < bytes.count else { throw fail("unexpected end of input in object") }
            switch bytes[position] {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(members)
            default: throw fail("expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(SafetensorsJSONFailure) -> SafetensorsJSONValue {
        guard depth <= SafetensorsLimits.maxJSONDepth else { throw .tooDeep(offset: position) }
        position += 1  // "["
        var elements: [SafetensorsJSONValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard position < bytes.count else { throw fail("unexpected end of input in array") }
            switch bytes[position] {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(elements)
            default: throw fail("expected ',' or ']'")
            }
        }
    }

    /// Parses a number literal. Integers are accumulated with overflow detection; a minus
    /// sign, fraction or exponent makes the number "not an unsigned integer".
    private mutating func parseNumber() throws(SafetensorsJSONFailure) -> SafetensorsJSONNumber {
        var negative = false
        if bytes[position] == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        guard position < bytes.count, isDigit(bytes[position]) else { throw fail("expected a digit") }
        var value: UInt64? = 0
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count, isDigit(bytes[position]) { throw fail("leading zero in number") }
        } else {
            while position < bytes.count, isDigit(bytes[position]) {
                if let current = value {
                    let (times, o1) = current.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times.addingReportingOverflow(UInt64(bytes[position] &- 0x30))
                    value = (o1 || o2) ? nil : sum
                }
                position += 1
            }
        }
        var integral = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            integral = false
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw fail("expected a digit after '.'") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            integral = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard position < bytes.count, isDigit(bytes[position]) else { throw fail("expected a digit in exponent") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        // "-0" is an integer but not written by any producer; treat every negative as invalid.
        return SafetensorsJSONNumber(unsignedValue: (negative || !integral) ? nil : value)
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// Parses a string literal starting at the opening quote.
    private mutating func parseString() throws(SafetensorsJSONFailure) -> String {
        position += 1  // opening quote
        let start = position
        // Fast path: no escapes, the bytes are already valid UTF-8.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<position])
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
                throw fail("invalid escape")
            }
        }
        throw fail("unterminated string")
    }

    /// Parses the `XXXX` after `\u` (and a following `\uXXXX` low surrogate when needed).
    private mutating func parseUnicodeEscape() throws(SafetensorsJSONFailure) -> Unicode.Scalar {
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

    private mutating func parseHex4() throws(SafetensorsJSONFailure) -> UInt16 {
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
