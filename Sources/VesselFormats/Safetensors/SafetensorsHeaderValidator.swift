import VesselCore

/// The semantic stage of header parsing: turns the top-level JSON members into validated
/// tensor entries and metadata, then checks that the tensors tile the data buffer.
enum SafetensorsHeaderValidator {
    static let metadataKey = "__metadata__"

    static func validate(
        root: [StrictJSONMember], headerLength: UInt64, dataLength: UInt64
    ) throws(SafetensorsError) -> SafetensorsHeader {
        var metadata: [String: String]? = nil
        var tensors: [SafetensorsTensorInfo] = []
        tensors.reserveCapacity(root.count)
        for member in root {
            if member.key == metadataKey {
                metadata = try validateMetadata(member.value)
            } else {
                tensors.append(try validateTensor(name: member.key, value: member.value))
            }
        }
        tensors.sort(by: offsetOrder)
        try checkTiling(tensors, dataLength: dataLength)
        return SafetensorsHeader(tensors: tensors, metadata: metadata, headerLength: headerLength, dataLength: dataLength)
    }

    /// The order of ``SafetensorsHeader/tensors``: by begin, then end, then name bytes (so
    /// zero-size tensors sharing an offset have a stable order).
    static func offsetOrder(_ left: SafetensorsTensorInfo, _ right: SafetensorsTensorInfo) -> Bool {
        if left.dataBegin != right.dataBegin { return left.dataBegin < right.dataBegin }
        if left.dataEnd != right.dataEnd { return left.dataEnd < right.dataEnd }
        return left.withNameUTF8 { l in right.withNameUTF8 { r in l.lexicographicallyPrecedes(r) } }
    }

    static func validateMetadata(_ value: StrictJSONValue) throws(SafetensorsError) -> [String: String] {
        guard case .object(let members) = value else {
            throw .invalidMetadata(reason: "it is \(value.kindName)")
        }
        var result: [String: String] = [:]
        result.reserveCapacity(members.count)
        for member in members {
            guard case .string(let text) = member.value else {
                throw .invalidMetadata(reason: "the value of \(SafetensorsError.quoted(member.key)) is \(member.value.kindName)")
            }
            result[member.key] = text
        }
        return result
    }

    static func validateTensor(name: String, value: StrictJSONValue) throws(SafetensorsError) -> SafetensorsTensorInfo {
        guard case .object(let fields) = value else {
            throw .invalidTensorEntry(tensor: name, reason: "it is \(value.kindName)")
        }
        var dtypeValue: StrictJSONValue? = nil
        var shapeValue: StrictJSONValue? = nil
        var offsetsValue: StrictJSONValue? = nil
        for field in fields {
            switch field.key {
            case "dtype": dtypeValue = field.value
            case "shape": shapeValue = field.value
            case "data_offsets": offsetsValue = field.value
            default:
                throw .invalidTensorEntry(tensor: name, reason: "unexpected field \(SafetensorsError.quoted(field.key))")
            }
        }
        guard let dtypeValue else { throw .invalidTensorEntry(tensor: name, reason: "dtype is missing") }
        guard let shapeValue else { throw .invalidTensorEntry(tensor: name, reason: "shape is missing") }
        guard let offsetsValue else { throw .invalidTensorEntry(tensor: name, reason: "data_offsets is missing") }

        guard case .string(let dtypeName) = dtypeValue else {
            throw .unknownDType(tensor: name, dtype: "<\(dtypeValue.kindName)>")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw .unknownDType(tensor: name, dtype: dtypeName)
        }
        guard let shape = unsignedIntegers(shapeValue) else { throw .invalidShape(tensor: name) }
        guard let offsets = unsignedIntegers(offsetsValue), offsets.count == 2, offsets[0] <= offsets[1] else {
            throw .invalidOffsets(tensor: name)
        }
        guard let elements = SafetensorsDType.elementCount(of: shape) else { throw .sizeOverflow(tensor: name) }
        let expected: UInt64
        switch dtype.byteCount(forElements: elements) {
        case .success(let bytes): expected = bytes
        case .failure(.overflow): throw .sizeOverflow(tensor: name)
        case .failure(.notWholeBytes): throw .subByteMisaligned(tensor: name)
        }
        let actual = offsets[1] - offsets[0]
        guard actual == expected else { throw .sizeMismatch(tensor: name, expected: expected, actual: actual) }
        return SafetensorsTensorInfo(
            name: name, dtype: dtype, shape: shape,
            dataBegin: offsets[0], dataEnd: offsets[1], elementCount: elements
        )
    }

    /// The array's elements when it is an array of unsigned 64-bit integers, else nil.
    private static func unsignedIntegers(_ value: StrictJSONValue) -> [UInt64]? {
        guard case .array(let elements) = value else { return nil }
        var result: [UInt64] = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard case .number(let number) = element, let integer = number.unsignedValue else { return nil }
            result.append(integer)
        }
        return result
    }

    /// Sorted by offset, tensors must start at 0, follow each other without gaps or
    /// overlaps, and end exactly at the end of the data buffer.
    static func checkTiling(_ tensors: [SafetensorsTensorInfo], dataLength: UInt64) throws(SafetensorsError) {
        var covered: UInt64 = 0
        // Names are made only for an error: a parsed entry makes its name on each access.
        for index in tensors.indices {
            let begin = tensors[index].dataBegin, end = tensors[index].dataEnd
            if begin < covered {
                throw .overlappingTensors(tensor: tensors[index].name, previous: index > 0 ? tensors[index - 1].name : "")
            }
            if begin > covered {
                throw .holeInBuffer(tensor: tensors[index].name, offset: covered)
            }
            if end > dataLength {
                throw .bufferOverrun(tensor: tensors[index].name, end: end, bufferSize: dataLength)
            }
            covered = end
        }
        if covered < dataLength { throw .trailingBytes(count: dataLength - covered) }
    }
}
