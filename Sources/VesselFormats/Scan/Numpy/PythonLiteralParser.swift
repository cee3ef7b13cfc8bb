/// A Python literal as `ast.literal_eval` would produce it for a `.npy` header.
indirect enum PythonLiteral {
    case string(String)
    /// An integer; nil when it does not fit `Int`.
    case int(Int?)
    case bool(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case dict([PythonLiteralEntry])

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

struct PythonLiteralEntry {
    var key: PythonLiteral
    var value: PythonLiteral
}

struct PythonLiteralError: Error {
    var message: String
}

/// A recursive-descent parser for the literal subset `.npy` headers use: dicts, lists,
/// tuples, quoted strings, integers, `True`, `False`, `None`. Nesting is capped.
struct PythonLiteralParser {
    private let scalars: [UInt8]
    private let latin1: Bool
    private var index = 0
    private static let maxDepth = 32

    /// Parses header bytes; string literals are decoded as latin-1 (`.npy` 1.0/2.0) or UTF-8 (3.0).
    init(_ bytes: ArraySlice<UInt8>, latin1: Bool) {
        scalars = Array(bytes)
        self.latin1 = latin1
    }

    mutating func parseDocument() throws -> PythonLiteral {
        let value = try parseValue(depth: 0)
        skipSpace()
        guard index == scalars.count else { throw PythonLiteralError(message: "trailing characters") }
        return value
    }

    private mutating func skipSpace() {
        while index < scalars.count, scalars[index] == 0x20 || scalars[index] == 0x0A || scalars[index] == 0x09 || scalars[index] == 0x0D {
            index += 1
        }
    }

    private mutating func parseValue(depth: Int) throws -> PythonLiteral {
        guard depth < Self.maxDepth else { throw PythonLiteralError(message: "nested too deeply") }
        skipSpace()
        guard index < scalars.count else { throw PythonLiteralError(message: "unexpected end") }
        switch scalars[index] {
        case UInt8(ascii: "{"):
            index += 1
            var entries: [PythonLiteralEntry] = []
            for item in try parseSequence(closing: UInt8(ascii: "}"), depth: depth, pairs: true) {
                entries.append(PythonLiteralEntry(key: item.0, value: item.1 ?? .none))
            }
            return .dict(entries)
        case UInt8(ascii: "["):
            index += 1
            return .list(try parseSequence(closing: UInt8(ascii: "]"), depth: depth, pairs: false).map(\.0))
        case UInt8(ascii: "("):
            index += 1
            let start = index
            let items = try parseSequence(closing: UInt8(ascii: ")"), depth: depth, pairs: false).map(\.0)
            // `(x)` without a comma is a parenthesised value, not a tuple.
            if items.count == 1, !scalars[start..<index].contains(UInt8(ascii: ",")) { return items[0] }
            return .tuple(items)
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return .string(try parseString())
        default:
            return try parseWord()
        }
    }

    private mutating func parseSequence(closing: UInt8, depth: Int, pairs: Bool) throws -> [(PythonLiteral, PythonLiteral?)] {
        var items: [(PythonLiteral, PythonLiteral?)] = []
        while true {
            skipSpace()
            guard index < scalars.count else { throw PythonLiteralError(message: "unclosed bracket") }
            if scalars[index] == closing {
                index += 1
                return items
            }
            let first = try parseValue(depth: depth + 1)
            var second: PythonLiteral?
            if pairs {
                skipSpace()
                guard index < scalars.count, scalars[index] == UInt8(ascii: ":") else { throw PythonLiteralError(message: "expected ':'") }
                index += 1
                second = try parseValue(depth: depth + 1)
            }
            items.append((first, second))
            skipSpace()
            guard index < scalars.count else { throw PythonLiteralError(message: "unclosed bracket") }
            if scalars[index] == UInt8(ascii: ",") {
                index += 1
            } else if scalars[index] != closing {
                throw PythonLiteralError(message: "expected ',' or closing bracket")
            }
        }
    }

    private mutating func parseString() throws -> String {
        let quote = scalars[index]
        index += 1
        var out: [UInt8] = []
        while index < scalars.count {
            let byte = scalars[index]
            index += 1
            if byte == quote { return latin1 ? PickleText.latin1(out[...]) : String(decoding: out, as: UTF8.self) }
            if byte == UInt8(ascii: "\\") {
                guard index < scalars.count else { break }
                let next = scalars[index]
                index += 1
                switch next {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): out.append(next)
                default: throw PythonLiteralError(message: "unsupported string escape")
                }
            } else {
                out.append(byte)
            }
        }
        throw PythonLiteralError(message: "unterminated string")
    }

    private mutating func parseWord() throws -> PythonLiteral {
        let start = index
        while index < scalars.count, isWordByte(scalars[index]) { index += 1 }
        let word = String(decoding: scalars[start..<index], as: UTF8.self)
        switch word {
        case "True": return .bool(true)
        case "False": return .bool(false)
        case "None": return .none
        case "": throw PythonLiteralError(message: "unexpected character")
        default:
            let digits = word.hasSuffix("L") ? String(word.dropLast()) : word
            guard !digits.isEmpty, digits.dropFirst(digits.hasPrefix("-") || digits.hasPrefix("+") ? 1 : 0)
                .allSatisfy({ $0.isASCII && $0.isNumber })
            else { throw PythonLiteralError(message: "unsupported token \(word.prefix(20))") }
            return .int(Int(digits))
        }
    }

    private func isWordByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "_")
    }
}
