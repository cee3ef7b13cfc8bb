/// Strict UTF-8 validation (Unicode 15, Table 3-7): no overlong forms, no surrogates, no
/// code points above U+10FFFF. Works in place, allocates nothing.
enum SafetensorsUTF8 {
    /// Returns the offset of the first invalid byte, or nil when all of `bytes` is UTF-8.
    static func firstInvalidOffset(in bytes: UnsafeRawBufferPointer) -> Int? {
        var index = 0
        let count = bytes.count
        while index < count {
            // ASCII fast path: eight bytes at a time.
            if count - index >= 8,
                bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
            {
                index += 8
                continue
            }
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; upper = 0x9F
            case 0xF0: length = 4; lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; upper = 0x8F
            default: return index
            }
            guard count - index >= length else { return index }
            let second = bytes[index + 1]
            guard second >= lower, second <= upper else { return index }
            var continuation = 2
            while continuation < length {
                let byte = bytes[index + continuation]
                guard byte >= 0x80, byte <= 0xBF else { return index }
                continuation += 1
            }
            index += length
        }
        return nil
    }
}
