/// Decoders for pickle's text arguments, following CPython's codecs.
enum PickleText {
    /// Strict UTF-8 (nil when invalid; CPython's `surrogatepass` extras are treated as unknown).
    static func utf8(_ bytes: ArraySlice<UInt8>) -> String? {
        // Not `String(validating:as:)`: its generic path looks up type metadata on every call.
        bytes.withUnsafeBufferPointer { buffer in
            SafetensorsUTF8.firstInvalidOffset(in: UnsafeRawBufferPointer(buffer)) == nil
                ? String(decoding: buffer, as: UTF8.self) : nil
        }
    }

    /// One character per byte, as CPython's `latin1` codec.
    static func latin1(_ bytes: ArraySlice<UInt8>) -> String {
        // ASCII is its own latin-1 and UTF-8: one copy instead of a scalar at a time.
        if let ascii = asciiText(bytes) { return ascii }
        var text = String.UnicodeScalarView()
        for byte in bytes { text.append(Unicode.Scalar(byte)) }
        return String(text)
    }

    /// `codecs.escape_decode` of a protocol 0 `STRING` body, read as latin-1 text.
    static func escapeDecoded(_ bytes: ArraySlice<UInt8>) -> String? {
        if !bytes.contains(UInt8(ascii: "\\")), let ascii = asciiText(bytes) { return ascii }
        var out = String.UnicodeScalarView()
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            index += 1
            guard byte == UInt8(ascii: "\\") else {
                out.append(Unicode.Scalar(byte))
                continue
            }
            guard index < bytes.endIndex else { return nil }
            let next = bytes[index]
            index += 1
            switch next {
            case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): out.append(Unicode.Scalar(next))
            case UInt8(ascii: "n"): out.append("\n")
            case UInt8(ascii: "t"): out.append("\t")
            case UInt8(ascii: "r"): out.append("\r")
            case UInt8(ascii: "a"): out.append(Unicode.Scalar(7))
            case UInt8(ascii: "b"): out.append(Unicode.Scalar(8))
            case UInt8(ascii: "f"): out.append(Unicode.Scalar(12))
            case UInt8(ascii: "v"): out.append(Unicode.Scalar(11))
            case UInt8(ascii: "\n"): break
            case UInt8(ascii: "x"):
                guard index + 2 <= bytes.endIndex, let value = hexValue(bytes[index..<(index + 2)]) else { return nil }
                out.append(Unicode.Scalar(UInt8(value)))
                index += 2
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = UInt32(next - UInt8(ascii: "0"))
                var digits = 1
                while digits < 3, index < bytes.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(bytes[index]) {
                    value = value * 8 + UInt32(bytes[index] - UInt8(ascii: "0"))
                    index += 1
                    digits += 1
                }
                out.append(Unicode.Scalar(UInt8(truncatingIfNeeded: value)))
            default:
                out.append("\\")
                out.append(Unicode.Scalar(next))
            }
        }
        return String(out)
    }

    /// `raw-unicode-escape` of a protocol 0 `UNICODE` line.
    static func rawUnicodeEscapeDecoded(_ bytes: ArraySlice<UInt8>) -> String? {
        if !bytes.contains(UInt8(ascii: "\\")), let ascii = asciiText(bytes) { return ascii }
        var out = String.UnicodeScalarView()
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\"), index + 1 < bytes.endIndex,
               bytes[index + 1] == UInt8(ascii: "u") || bytes[index + 1] == UInt8(ascii: "U") {
                let width = bytes[index + 1] == UInt8(ascii: "u") ? 4 : 8
                let start = index + 2
                guard start + width <= bytes.endIndex, let value = hexValue(bytes[start..<(start + width)]),
                      let scalar = Unicode.Scalar(value)
                else { return nil }
                out.append(scalar)
                index = start + width
            } else {
                out.append(Unicode.Scalar(byte))
                index += 1
            }
        }
        return String(out)
    }

    /// The bytes as text when every one is ASCII (nil otherwise).
    private static func asciiText(_ bytes: ArraySlice<UInt8>) -> String? {
        bytes.withUnsafeBufferPointer { buffer in
            buffer.allSatisfy { $0 < 0x80 } ? String(decoding: buffer, as: UTF8.self) : nil
        }
    }

    private static func hexValue(_ digits: ArraySlice<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        for digit in digits {
            let nibble: UInt8
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = digit - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(nibble)
        }
        return value
    }
}
