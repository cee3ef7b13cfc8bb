#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VesselCore

/// A single-pass decoder for well-formed headers, used before the strict two-stage parser.
///
/// It builds tensor entries straight from the bytes (no JSON tree) and gives up — returns
/// nil — at the first thing it does not expect: escapes or non-ASCII bytes in names, unknown
/// fields, duplicate keys, non-integers, any rule violation. The caller then runs the strict parser
/// (``SafetensorsHeaderSyntax`` + ``SafetensorsHeaderValidator``), which is the only source
/// of errors. So the fast path must accept a subset of what the strict parser accepts and
/// return the identical header; the mutation tests check exactly that on every input.
/// It checks the UTF-8 of what it accepts itself, so valid headers are read in one pass:
/// everything outside `__metadata__` must be ASCII, and the metadata's bytes are validated.
enum SafetensorsHeaderFastPath {
    static func parse(_ body: UnsafeRawBufferPointer, headerLength: UInt64, dataLength: UInt64) -> SafetensorsHeader? {
        // Entries keep their name's range as Int32 offsets: a longer header (callers cap it at
        // `SafetensorsLimits.maxHeaderBytes` anyway) goes to the strict parser, never traps.
        guard body.count <= Int(Int32.max), let first = body.first, first == UInt8(ascii: "{") else { return nil }
        var cursor = Cursor(bytes: body, position: 1)
        // Real entries take ~90 bytes; reserving avoids regrowth (an overestimate is cheap).
        var tensors: [SafetensorsTensorInfo] = []
        tensors.reserveCapacity(body.count / 64 + 1)
        var seen = NameSet(maximumCount: body.count / NameSet.smallestEntryBytes + 1)
        var metadata: [String: String]? = nil
        // The tensors' names are ranges of one copy of the bytes, shared by every entry.
        let text = [UInt8](body)
        if !cursor.consume(UInt8(ascii: "}")) {
            while true {
                guard let key = cursor.plainString(), cursor.consume(UInt8(ascii: ":")) else { return nil }
                if cursor.equals(key, "__metadata__") {
                    guard metadata == nil else { return nil }
                    var parser = StrictJSONReader(bytes: body, position: cursor.position, depth: 1, options: .safetensors)
                    guard let value = try? parser.parseValue(),
                        SafetensorsUTF8.firstInvalidOffset(in: UnsafeRawBufferPointer(rebasing: body[cursor.position..<parser.position])) == nil,
                        let strings = try? SafetensorsHeaderValidator.validateMetadata(value)
                    else { return nil }
                    cursor.position = parser.position
                    metadata = strings
                } else {
                    guard seen.insert(key, of: body) else { return nil }
                    guard let tensor = cursor.tensor(named: key, in: text) else { return nil }
                    tensors.append(tensor)
                }
                if cursor.consume(UInt8(ascii: ",")) { continue }
                if cursor.consume(UInt8(ascii: "}")) { break }
                return nil
            }
        }
        for index in cursor.position..<body.count where body[index] != 0x20 { return nil }
        // Writers list tensors in offset order, so this is usually one pass.
        if tensors.indices.dropFirst().contains(where: { SafetensorsHeaderValidator.offsetOrder(tensors[$0], tensors[$0 - 1]) }) {
            tensors.sort(by: SafetensorsHeaderValidator.offsetOrder)
        }
        guard (try? SafetensorsHeaderValidator.checkTiling(tensors, dataLength: dataLength)) != nil else { return nil }
        return SafetensorsHeader(tensors: tensors, metadata: metadata, headerLength: headerLength, dataLength: dataLength)
    }

    /// The tensor names seen so far, as byte ranges of the header, for the duplicate check:
    /// open addressing over a table sized once from the header's length, with no String
    /// hashing. Only ASCII names get here (``Cursor/plainString()`` refuses other bytes), and
    /// for ASCII, equal bytes is exactly the canonical equivalence the strict parser's String
    /// keys compare by.
    private struct NameSet {
        /// The shortest possible tensor entry, `"":{"dtype":"U8","shape":[],"data_offsets":[0,0]},`:
        /// a header of N bytes holds at most N / 48 + 1 tensors.
        static let smallestEntryBytes = 48
        private var slots: [Int32]
        private var ranges: [Range<Int>] = []
        private let mask: Int

        init(maximumCount: Int) {
            var size = 16
            while size < maximumCount * 2 { size <<= 1 }
            slots = Array(repeating: 0, count: size)
            mask = size - 1
            ranges.reserveCapacity(maximumCount)
        }

        /// Adds `range`; false when an equal name is already there (or the table is full,
        /// which the size bound rules out; the caller then leaves the header to the strict parser).
        mutating func insert(_ range: Range<Int>, of bytes: UnsafeRawBufferPointer) -> Bool {
            guard ranges.count * 2 < slots.count, let base = bytes.baseAddress else { return false }
            var slot = Int(truncatingIfNeeded: Self.hash(range, of: bytes)) & mask
            while true {
                let entry = Int(slots[slot])
                if entry == 0 {
                    slots[slot] = Int32(truncatingIfNeeded: ranges.count + 1)
                    ranges.append(range)
                    return true
                }
                let other = ranges[entry - 1]
                if other.count == range.count, memcmp(base + other.lowerBound, base + range.lowerBound, range.count) == 0 {
                    return false
                }
                slot = (slot + 1) & mask
            }
        }

        private static func hash(_ range: Range<Int>, of bytes: UnsafeRawBufferPointer) -> UInt64 {
            var hash = 0x9E37_79B9_7F4A_7C15 ^ UInt64(range.count)
            var index = range.lowerBound
            while range.upperBound - index >= 8 {
                hash = (hash ^ bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
                hash ^= hash >> 32
                index += 8
            }
            while index < range.upperBound {
                hash = (hash ^ UInt64(bytes[index])) &* 0x0000_0100_0000_01B3
                index += 1
            }
            return hash ^ (hash >> 29)
        }
    }

    /// `"dtype":`, `"shape":` and `"data_offsets":` as little-endian words, the last as two
    /// overlapping ones (`"data_of` at +0, `ffsets":` at +7). Literals, not computed `static
    /// let`s, whose every use would pay a `swift_once` check; a test recomputes them.
    static let dtypeWord: UInt64 = 0x3A22_6570_7974_6422
    static let shapeWord: UInt64 = 0x3A22_6570_6168_7322
    static let offsetsHead: UInt64 = 0x666F_5F61_7461_6422
    static let offsetsTail: UInt64 = 0x3A22_7374_6573_6666

    /// dtype names as bytes, for matching without building a String.
    private static let dtypeNames: [([UInt8], SafetensorsDType)] = SafetensorsDType.allCases.map { (Array($0.rawValue.utf8), $0) }

    private struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var position: Int
        private var scratch: [UInt64] = []
        private var recentShapes: [[UInt64]] = []
        private var nextRecent = 0

        init(bytes: UnsafeRawBufferPointer, position: Int) {
            self.bytes = bytes
            self.position = position
        }

        mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        /// A string of printable ASCII without escapes; the range of its contents.
        mutating func plainString() -> Range<Int>? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            let start = position
            var index = start
            let end = bytes.count
            // Eight bytes at a time up to the word holding the closing quote (or anything else
            // that ends the plain run), then byte by byte. A local index stays in a register.
            while end - index >= 8 {
                let found = Self.endsPlainRun(bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                if found == 0 {
                    index += 8
                    continue
                }
                // The lowest flagged byte is exact (only bytes above it can be false alarms).
                let stop = index + found.trailingZeroBitCount / 8
                guard bytes[stop] == UInt8(ascii: "\"") else { return nil }
                position = stop + 1
                return start..<stop
            }
            while index < end {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    position = index + 1
                    return start..<index
                }
                if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { return nil }
                index += 1
            }
            return nil
        }

        /// The high bit of each byte of `word` that is a quote, a backslash, a control byte or
        /// not ASCII, by the classic "has zero byte" / "has byte less than" bit tricks: zero
        /// exactly when there is none, and the lowest bit set marks the first one.
        static func endsPlainRun(_ word: UInt64) -> UInt64 {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let found = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | (word &- ones &* 0x20) | word
            return found & 0x8080_8080_8080_8080
        }

        func equals(_ range: Range<Int>, _ text: StaticString) -> Bool {
            guard range.count == text.utf8CodeUnitCount else { return false }
            let base = text.utf8Start
            for offset in 0..<range.count where bytes[range.lowerBound + offset] != base[offset] { return false }
            return true
        }

        /// A non-negative integer literal that fits in 64 bits (no sign, fraction, exponent).
        mutating func unsignedInteger() -> UInt64? {
            skipWhitespace()
            guard position < bytes.count else { return nil }
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
                if position < bytes.count, isNumberContinuation(bytes[position]) { return nil }
                return 0
            }
            var value: UInt64 = 0
            let start = position
            var index = position
            let end = bytes.count
            // Up to 19 digits cannot overflow 64 bits, so the loop needs no overflow checks;
            // a 20th digit is checked below, and 21 or more always overflow.
            while index < end, index - start < 19 {
                let digit = bytes[index] &- 0x30
                guard digit <= 9 else { break }
                value = value &* 10 &+ UInt64(digit)
                index += 1
            }
            if index < end, bytes[index] &- 0x30 <= 9 {
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times.addingReportingOverflow(UInt64(bytes[index] &- 0x30))
                guard !o1, !o2 else { return nil }
                value = sum
                index += 1
            }
            position = index
            guard index > start else { return nil }
            if position < bytes.count, isNumberContinuation(bytes[position]) { return nil }
            return value
        }

        private func isNumberContinuation(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
        }

        /// A shape: an array of unsigned integers. Checkpoints repeat a few shapes (every layer
        /// has the same projections), so a shape equal to a recent one shares its storage
        /// instead of allocating another array.
        mutating func shape() -> [UInt64]? {
            guard consume(UInt8(ascii: "[")) else { return nil }
            // Counted by hand: `removeAll(keepingCapacity:)` takes a slow generic path.
            var count = 0
            if !consume(UInt8(ascii: "]")) {
                while true {
                    guard let value = unsignedInteger() else { return nil }
                    if count < scratch.count { scratch[count] = value } else { scratch.append(value) }
                    count += 1
                    if consume(UInt8(ascii: ",")) { continue }
                    if consume(UInt8(ascii: "]")) { break }
                    return nil
                }
            }
            let parsed = scratch[0..<count]
            if let known = recentShapes.first(where: { $0.elementsEqual(parsed) }) { return known }
            let shape = Array(parsed)
            if recentShapes.count < 4 { recentShapes.append(shape) } else { recentShapes[nextRecent] = shape }
            nextRecent = (nextRecent + 1) % 4
            return shape
        }

        mutating func dtype() -> SafetensorsDType? {
            guard let range = plainString(), range.count <= 11 else { return nil }
            // Common dtypes first: one 8-byte load compares the whole name.
            var word: UInt64 = 0
            for offset in range.reversed() { word = word << 8 | UInt64(bytes[offset]) }
            switch word {
            case 0x3631_4642: return .bf16  // "BF16"
            case 0x3631_46: return .f16  // "F16"
            case 0x3233_46: return .f32  // "F32"
            default: break
            }
            for (name, dtype) in SafetensorsHeaderFastPath.dtypeNames where name.count == range.count {
                var same = true
                for offset in 0..<name.count where bytes[range.lowerBound + offset] != name[offset] {
                    same = false
                    break
                }
                if same { return dtype }
            }
            return nil
        }

        enum Field { case dtype, shape, dataOffsets }

        /// A tensor field's name and its colon. Writers put no whitespace between them, which
        /// one or two word compares recognize; anything else takes the general route.
        mutating func field() -> Field? {
            skipWhitespace()
            if bytes.count - position >= 15 {
                let first = bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self)
                if first == SafetensorsHeaderFastPath.dtypeWord {
                    position += 8
                    return .dtype
                }
                if first == SafetensorsHeaderFastPath.shapeWord {
                    position += 8
                    return .shape
                }
                if first == SafetensorsHeaderFastPath.offsetsHead,
                    bytes.loadUnaligned(fromByteOffset: position + 7, as: UInt64.self) == SafetensorsHeaderFastPath.offsetsTail
                {
                    position += 15
                    return .dataOffsets
                }
            }
            guard let name = plainString(), consume(UInt8(ascii: ":")) else { return nil }
            if equals(name, "dtype") { return .dtype }
            if equals(name, "shape") { return .shape }
            if equals(name, "data_offsets") { return .dataOffsets }
            return nil
        }

        /// `{"dtype": …, "shape": […], "data_offsets": [b, e]}` in any order, validated.
        mutating func tensor(named name: Range<Int>, in text: [UInt8]) -> SafetensorsTensorInfo? {
            guard consume(UInt8(ascii: "{")) else { return nil }
            var dtype: SafetensorsDType? = nil
            var shape: [UInt64]? = nil
            var offsets: (begin: UInt64, end: UInt64)? = nil
            while true {
                guard let field = field() else { return nil }
                if field == .dtype, dtype == nil {
                    dtype = self.dtype()
                    if dtype == nil { return nil }
                } else if field == .shape, shape == nil {
                    shape = self.shape()
                    if shape == nil { return nil }
                } else if field == .dataOffsets, offsets == nil {
                    // Exactly `[begin, end]`, parsed without an array.
                    guard consume(UInt8(ascii: "[")), let begin = unsignedInteger(), consume(UInt8(ascii: ",")),
                        let end = unsignedInteger(), consume(UInt8(ascii: "]"))
                    else { return nil }
                    offsets = (begin, end)
                } else {
                    return nil
                }
                if consume(UInt8(ascii: ",")) { continue }
                if consume(UInt8(ascii: "}")) { break }
                return nil
            }
            guard let dtype, let shape, let offsets, offsets.begin <= offsets.end,
                let elements = SafetensorsDType.elementCount(of: shape),
                case .success(let size) = dtype.byteCount(forElements: elements),
                size == offsets.end - offsets.begin
            else { return nil }
            return SafetensorsTensorInfo(
                bytes: text, nameRange: name, dtype: dtype, shape: shape, dataBegin: offsets.begin, dataEnd: offsets.end, elementCount: elements
            )
        }
    }
}
