/// The PEP 508 marker grammar, read as `packaging` reads it:
///
///     marker      = atom (("and" | "or") atom)*        -- "and" binds tighter
///     atom        = ws? ("(" ws? marker ws? ")" | item) ws?
///     item        = ws? operand ws? operator ws? operand ws?
///     operand     = variable | 'text' | "text"
///     operator    = "in" | "not" ws "in" | === | == | ~= | != | <= | >= | < | >
///
/// `ws` is spaces and tabs. Variables are the PEP 508 names, with `os.name`, `sys.platform`
/// and `platform.*` accepted for `_` and `python_implementation` meaning
/// `platform_python_implementation`. Inside quotes, `\\`, `\'`, `\"`, `\n`, `\t` and `\r`
/// are escapes (the marker is a Python literal there); other backslashes stay as written.
struct MarkerParser {
    private let text: String
    private let bytes: [UInt8]
    private(set) var position = 0

    init(_ text: String) {
        self.text = text
        bytes = Array(text.utf8)
    }

    /// Parses from `start` of a longer line (a requirement's marker after its `;`).
    init(_ text: String, from start: Int) {
        self.init(text)
        position = start
    }

    private static let spellings: [(String, String)] = [
        ("python_version", "python_version"), ("python_full_version", "python_full_version"),
        ("os_name", "os_name"), ("os.name", "os_name"), ("sys_platform", "sys_platform"), ("sys.platform", "sys_platform"),
        ("platform_release", "platform_release"), ("platform_system", "platform_system"),
        ("platform_version", "platform_version"), ("platform.version", "platform_version"),
        ("platform_machine", "platform_machine"), ("platform.machine", "platform_machine"),
        ("platform_python_implementation", "platform_python_implementation"),
        ("platform.python_implementation", "platform_python_implementation"),
        ("python_implementation", "platform_python_implementation"),
        ("implementation_name", "implementation_name"), ("implementation_version", "implementation_version"),
        ("extra", "extra"), ("extras", "extras"), ("dependency_groups", "dependency_groups"),
    ]

    private static let operators: [Marker.Operator] = [.arbitrary, .equal, .compatible, .notEqual, .lessOrEqual, .greaterOrEqual, .less, .greater]

    func error(_ reason: String) -> MarkerError {
        MarkerError(text: text, offset: String(decoding: bytes[0..<min(position, bytes.count)], as: UTF8.self).count, reason: reason)
    }

    /// A marker that must run to the end of the text.
    mutating func fullMarker() throws(MarkerError) -> Marker {
        let marker = try marker()
        skipSpaces()
        guard position == bytes.count else { throw error("Expected end of marker expression") }
        return marker
    }

    mutating func marker() throws(MarkerError) -> Marker {
        var groups: [[Marker]] = [[try atom()]]
        while true {
            if word("and") {
                groups[groups.count - 1].append(try atom())
            } else if word("or") {
                groups.append([try atom()])
            } else {
                break
            }
        }
        let ands = groups.map { $0.count == 1 ? $0[0] : Marker.and($0) }
        return ands.count == 1 ? ands[0] : .or(ands)
    }

    private mutating func atom() throws(MarkerError) -> Marker {
        skipSpaces()
        let result: Marker
        if peek() == 0x28 {  // (
            position += 1
            skipSpaces()
            let inner = try marker()
            skipSpaces()
            guard peek() == 0x29 else { throw error("Expected matching RIGHT_PARENTHESIS for LEFT_PARENTHESIS, after marker expression") }
            position += 1
            result = inner  // one operand of the enclosing and/or
        } else {
            skipSpaces()
            let left = try operand()
            skipSpaces()
            let op = try markerOperator()
            skipSpaces()
            let right = try operand()
            result = .compare(left, op, right)
        }
        skipSpaces()
        return result
    }

    private mutating func operand() throws(MarkerError) -> Marker.Operand {
        for (spelling, name) in Self.spellings where matches(spelling) && !isWordByte(at: position + spelling.utf8.count) && !isWordByte(at: position - 1) {
            position += spelling.utf8.count
            return .variable(name)
        }
        guard let quote = peek(), quote == 0x27 || quote == 0x22 else { throw error("Expected a marker variable or quoted string") }
        guard let close = bytes[(position + 1)...].firstIndex(of: quote) else { throw error("Expected a marker variable or quoted string") }
        let raw = Array(bytes[(position + 1)..<close])
        guard let value = Self.unescape(raw) else { throw error("Invalid quoted string") }
        position = close + 1
        return .literal(value)
    }

    private mutating func markerOperator() throws(MarkerError) -> Marker.Operator {
        if word("in") { return .isIn }
        if word("not") {
            guard peek() == 0x20 || peek() == 0x09 else { throw error("Expected whitespace after 'not'") }
            skipSpaces()
            guard word("in") else { throw error("Expected 'in' after 'not'") }
            return .notIn
        }
        for op in Self.operators where matches(op.rawValue) {
            position += op.rawValue.utf8.count
            return op
        }
        throw error("Expected marker operator, one of <=, <, !=, ==, >=, >, ~=, ===, in, not in")
    }

    // MARK: Bytes

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipSpaces() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 { position += 1 }
    }

    private func matches(_ literal: String) -> Bool {
        let count = literal.utf8.count
        guard position + count <= bytes.count else { return false }
        return bytes[position..<(position + count)].elementsEqual(literal.utf8)
    }

    /// `literal` as a whole word here (`\b…\b`); consumed when it is.
    private mutating func word(_ literal: String) -> Bool {
        guard matches(literal), !isWordByte(at: position - 1) || !isWordByte(at: position),
              !isWordByte(at: position + literal.utf8.count) else { return false }
        position += literal.utf8.count
        return true
    }

    /// A byte of a regex word (`\w`): ASCII letters, digits, `_`, and any non-ASCII byte.
    private func isWordByte(at index: Int) -> Bool {
        guard index >= 0, index < bytes.count else { return false }
        let byte = bytes[index]
        return VersionScanner.isAlphanumeric(byte) || byte == 0x5F || byte >= 0x80
    }

    /// The text inside quotes with Python's common escapes applied; nil for a dangling `\`.
    static func unescape(_ raw: [UInt8]) -> String? {
        guard raw.contains(0x5C) else { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        var i = 0
        while i < raw.count {
            guard raw[i] == 0x5C else { out.append(raw[i]); i += 1; continue }
            guard i + 1 < raw.count else { return nil }
            switch raw[i + 1] {
            case 0x5C, 0x27, 0x22: out.append(raw[i + 1])
            case 0x6E: out.append(0x0A)
            case 0x74: out.append(0x09)
            case 0x72: out.append(0x0D)
            default: out.append(contentsOf: [0x5C, raw[i + 1]])
            }
            i += 2
        }
        return String(decoding: out, as: UTF8.self)
    }
}
