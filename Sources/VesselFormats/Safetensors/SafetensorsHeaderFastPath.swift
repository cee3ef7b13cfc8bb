/// A single-pass decoder for well-formed headers, used before the strict two-stage parser.
///
/// It builds tensor entries straight from the bytes (no JSON tree) and gives up — returns
/// nil — at the first thing it does not expect: escapes in names, unknown fields, duplicate
/// keys, non-integers, any rule violation. The caller then runs the strict parser
/// (``SafetensorsHeaderSyntax`` + ``SafetensorsHeaderValidator``), which is the only source
/// of errors. So the fast path must accept a subset of what the strict parser accepts and
/// return the identical header; the mutation tests check exactly that on every input.
/// The input must already be valid UTF-8.
enum SafetensorsHeaderFastPath {
    static func parse(_ body: UnsafeRawBufferPointer, headerLength: UInt64, dataLength: UInt64) -> SafetensorsHeader? {
        guard let first = body.first, first == UInt8(ascii: "{") else { return nil }
        var cursor = Cursor(bytes: body, position: 1)
        // Real entries take ~90 bytes; reserving avoids regrowth (an overestimate is cheap).
        let estimate = body.count / 64 + 1
        var tensors: [SafetensorsTensorInfo] = []
        tensors.reserveCapacity(estimate)
        var indexByName: [String: Int] = [:]
        indexByName.reserveCapacity(estimate)
        var metadata: [String: String]? = nil
        if !cursor.consume(UInt8(ascii: "}")) {
            while true {
                guard let key = cursor.plainString(), cursor.consume(UInt8(ascii: ":")) else { return nil }
                if cursor.equals(key, "__metadata__") {
                    guard metadata == nil else { return nil }
                    var parser = SafetensorsJSONParser(bytes: body, position: cursor.position)
                    guard let value = try? parser.parseValue(depth: 1),
                        let strings = try? SafetensorsHeaderValidator.validateMetadata(value)
                    else { return nil }
                    cursor.position = parser.position
                    metadata = strings
                } else {
                    let name = String(decoding: UnsafeRawBufferPointer(rebasing: body[key]), as: UTF8.self)
                    guard indexByName.updateValue(tensors.count, forKey: name) == nil,
                        let tensor = cursor.tensor(named: name)
                    else { return nil }
                    tensors.append(tensor)
                }
                if cursor.consume(UInt8(ascii: ",")) { continue }
                if cursor.consume(UInt8(ascii: "}")) { break }
                return nil
            }
        }
        for index in cursor.position..<body.count where body[index] != 0x20 { return nil }
        // Writers list tensors in offset order; then the name index built above is already
        // the index of the sorted list and need not be rebuilt.
        let sorted = zip(tensors, tensors.dropFirst()).allSatisfy { !SafetensorsHeaderValidator.offsetOrder($1, $0) }
        if !sorted { tensors.sort(by: SafetensorsHeaderValidator.offsetOrder) }
        guard (try? SafetensorsHeaderValidator.checkTiling(tensors, dataLength: dataLength)) != nil else { return nil }
        return SafetensorsHeader(
            tensors: tensors, metadata: metadata, headerLength: headerLength, dataLength: dataLength,
            indexByName: sorted ? indexByName : nil
        )
    }

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

        /// A string without escapes or control characters; the range of its contents.
        mutating func plainString() -> Range<Int>? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            let start = position
            var index = start
            let end = bytes.count
            // A local index keeps the hot loop in registers.
            while index < end {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    position = index + 1
                    return start..<index
                }
                if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
                index += 1
            }
            return nil
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
            scratch.removeAll(keepingCapacity: true)
            if !consume(UInt8(ascii: "]")) {
                while true {
                    guard let value = unsignedInteger() else { return nil }
                    scratch.append(value)
                    if consume(UInt8(ascii: ",")) { continue }
                    if consume(UInt8(ascii: "]")) { break }
                    return nil
                }
            }
            if let known = recentShapes.first(where: { $0 == scratch }) { return known }
            let shape = Array(scratch)
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

        /// `{"dtype": …, "shape": […], "data_offsets": [b, e]}` in any order, validated.
        mutating func tensor(named name: String) -> SafetensorsTensorInfo? {
            guard consume(UInt8(ascii: "{")) else { return nil }
            var dtype: SafetensorsDType? = nil
            var shape: [UInt64]? = nil
            var offsets: (begin: UInt64, end: UInt64)? = nil
            while true {
                guard let field = plainString(), consume(UInt8(ascii: ":")) else { return nil }
                if equals(field, "dtype"), dtype == nil {
                    dtype = self.dtype()
                    if dtype == nil { return nil }
                } else if equals(field, "shape"), shape == nil {
                    shape = self.shape()
                    if shape == nil { return nil }
                } else if equals(field, "data_offsets"), offsets == nil {
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
                name: name, dtype: dtype, shape: shape, dataBegin: offsets.begin, dataEnd: offsets.end, elementCount: elements
            )
        }
    }
}
