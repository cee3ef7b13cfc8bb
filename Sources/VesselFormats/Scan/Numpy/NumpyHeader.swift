/// The parsed header of a `.npy` file (format versions 1.0, 2.0 and 3.0).
///
/// Layout: `\x93NUMPY`, major, minor, a little-endian header length (2 bytes for 1.0, 4 for
/// 2.0/3.0), then a Python literal dict with exactly the keys `descr`, `fortran_order` and
/// `shape`. `descr` is a type string or, for structured dtypes, a list of fields.
struct NumpyHeader {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// Offset of the first data byte.
    var dataOffset: Int
    var hasObject: Bool
    /// Item size for plain dtypes; nil for structured ones (not size-checked).
    var itemSize: Int?
    var shape: [Int]

    /// The data size the header implies, or nil when not computable (structured, overflow).
    var dataSize: UInt64? {
        guard let itemSize else { return nil }
        var total = UInt64(itemSize)
        for dim in shape {
            let (product, overflow) = total.multipliedReportingOverflow(by: UInt64(dim))
            if overflow { return nil }
            total = product
        }
        return total
    }

    /// Reads and validates the header from `reader` (positioned at the magic).
    /// - Throws: `ScanProblem` (`truncated`, `malformed`, `limit-exceeded`).
    static func read<S: ScanChunkSource>(from reader: inout ScanByteReader<S>, maxHeaderBytes: Int) throws -> NumpyHeader {
        let start = reader.offset
        guard try reader.readBytes(6, "npy magic").elementsEqual(magic) else {
            throw ScanProblem.malformed("not an npy file (bad magic)", at: start)
        }
        let major = try reader.requireByte("npy version")
        let minor = try reader.requireByte("npy version")
        guard (1...3).contains(major), minor == 0 else {
            throw ScanProblem(kind: .unsupported, detail: "npy format version \(major).\(minor)", offset: start + 6)
        }
        let length = try reader.readLittleEndian(major == 1 ? 2 : 4, "npy header length")
        guard length <= UInt64(maxHeaderBytes) else {
            throw ScanProblem.limit("npy header of \(length) bytes exceeds \(maxHeaderBytes)", at: start + 8)
        }
        let headerStart = reader.offset
        let text = try reader.readBytes(Int(length), "npy header")
        if major == 3, PickleText.utf8(text) == nil {
            throw ScanProblem.malformed("npy header is not UTF-8", at: headerStart)
        }
        var parser = PythonLiteralParser(text, latin1: major != 3)
        let literal: PythonLiteral
        do {
            literal = try parser.parseDocument()
        } catch {
            throw ScanProblem.malformed("npy header is not a Python literal: \((error as? PythonLiteralError)?.message ?? "syntax error")", at: headerStart)
        }
        guard case .dict(let entries) = literal, entries.count == 3,
              entries.compactMap({ $0.key.string }).sorted() == ["descr", "fortran_order", "shape"]
        else { throw ScanProblem.malformed("npy header must hold exactly descr, fortran_order and shape", at: headerStart) }
        var header = NumpyHeader(dataOffset: reader.offset, hasObject: false, itemSize: nil, shape: [])
        for entry in entries {
            let value = entry.value
            switch entry.key.string {
            case "descr":
                let layout = try descrLayout(value, at: headerStart)
                header.hasObject = layout.hasObject
                header.itemSize = layout.itemSize
            case "fortran_order":
                guard case .bool = value else { throw ScanProblem.malformed("npy fortran_order is not a bool", at: headerStart) }
            default:
                guard case .tuple(let dims) = value else { throw ScanProblem.malformed("npy shape is not a tuple", at: headerStart) }
                header.shape = try dims.map { dim in
                    guard case .int(let size) = dim, let size, size >= 0 else {
                        throw ScanProblem.malformed("npy shape holds a negative or non-integer size", at: headerStart)
                    }
                    return size
                }
            }
        }
        return header
    }

    /// Object-ness and (for a plain type string) item size of a descr.
    private static func descrLayout(_ descr: PythonLiteral, at: Int) throws -> (hasObject: Bool, itemSize: Int?) {
        if case .string(let typeString) = descr {
            guard let dtype = PickleNumpyDtype(typeString: typeString) else {
                throw ScanProblem.malformed("unrecognized npy dtype \(typeString.prefix(40))", at: at)
            }
            return (dtype.hasObject, dtype.itemSize)
        }
        guard case .list(let fields) = descr, !fields.isEmpty else {
            throw ScanProblem.malformed("npy descr is neither a type string nor a field list", at: at)
        }
        var hasObject = false
        for field in fields {
            guard case .tuple(let parts) = field, parts.count == 2 || parts.count == 3 else {
                throw ScanProblem.malformed("npy structured descr field is not a 2- or 3-tuple", at: at)
            }
            hasObject = try descrLayout(parts[1], at: at).hasObject || hasObject
        }
        return (hasObject, nil)
    }
}
