/// Why a safetensors file was rejected. Exactly one error is reported per input: the first
/// rule that fails, in the order the parser checks them (framing, UTF-8, JSON syntax,
/// structure, per-tensor rules in header order, then the tiling of the data buffer).
///
/// `code` is a stable snake_case identifier (safe for JSON output and tests); `message` is a
/// human sentence that never includes file-system paths.
public enum SafetensorsError: Error, Sendable, Equatable, Hashable {
    /// The file is shorter than the 8-byte length prefix.
    case fileTooShort(fileSize: UInt64)
    /// The declared header length is above ``SafetensorsLimits/maxHeaderBytes``.
    case headerTooLarge(declared: UInt64)
    /// The declared header length runs past the end of the file.
    case headerLengthExceedsFile(declared: UInt64, fileSize: UInt64)
    /// The caller supplied fewer bytes than the prefix and the declared header need.
    case inputTruncated(needed: UInt64, available: UInt64)
    /// The header is not valid UTF-8 (byte offset within the header).
    case headerNotUTF8(offset: Int)
    /// The header does not start with `{` (leading whitespace is rejected on purpose).
    case invalidHeaderStart
    /// The header is not well-formed JSON.
    case headerNotJSON(offset: Int, reason: String)
    /// JSON nesting deeper than ``SafetensorsLimits/maxJSONDepth``.
    case headerTooDeep(offset: Int)
    /// The header is JSON but not an object.
    case headerNotObject
    /// Something other than spaces (0x20) follows the closing brace.
    case invalidPadding(offset: Int)
    /// A key appears twice in one JSON object (tensor names, `__metadata__`, entry fields).
    case duplicateKey(String)
    /// `__metadata__` is not an object of string values.
    case invalidMetadata(reason: String)
    /// A tensor entry is not an object with exactly `dtype`, `shape` and `data_offsets`.
    case invalidTensorEntry(tensor: String, reason: String)
    /// The dtype is not one of ``SafetensorsDType`` (names are case-sensitive).
    case unknownDType(tensor: String, dtype: String)
    /// The shape is not an array of non-negative integers that fit in 64 bits.
    case invalidShape(tensor: String)
    /// The offsets are not two non-negative 64-bit integers with begin ≤ end.
    case invalidOffsets(tensor: String)
    /// The element count or bit size of a tensor overflows 64 bits.
    case sizeOverflow(tensor: String)
    /// A sub-byte dtype (F4, F6) whose element count does not fill whole bytes.
    case subByteMisaligned(tensor: String)
    /// `data_offsets` length differs from product(shape) × dtype size.
    case sizeMismatch(tensor: String, expected: UInt64, actual: UInt64)
    /// Sorted by offset, a tensor starts before the previous one ends.
    case overlappingTensors(tensor: String, previous: String)
    /// Sorted by offset, a tensor starts after the previous one ends (or the first after 0).
    case holeInBuffer(tensor: String, offset: UInt64)
    /// A tensor ends past the end of the data buffer.
    case bufferOverrun(tensor: String, end: UInt64, bufferSize: UInt64)
    /// The tensors end before the data buffer does.
    case trailingBytes(count: UInt64)
    /// Reading the file or the caller's byte source failed.
    case ioError(operation: String, reason: String)

    /// Stable snake_case identifier of the rule that failed.
    public var code: String {
        switch self {
        case .fileTooShort: "file_too_short"
        case .headerTooLarge: "header_too_large"
        case .headerLengthExceedsFile: "header_length_exceeds_file"
        case .inputTruncated: "input_truncated"
        case .headerNotUTF8: "header_not_utf8"
        case .invalidHeaderStart: "invalid_header_start"
        case .headerNotJSON: "header_not_json"
        case .headerTooDeep: "header_too_deep"
        case .headerNotObject: "header_not_object"
        case .invalidPadding: "invalid_padding"
        case .duplicateKey: "duplicate_key"
        case .invalidMetadata: "invalid_metadata"
        case .invalidTensorEntry: "invalid_tensor_entry"
        case .unknownDType: "unknown_dtype"
        case .invalidShape: "invalid_shape"
        case .invalidOffsets: "invalid_offsets"
        case .sizeOverflow: "size_overflow"
        case .subByteMisaligned: "sub_byte_misaligned"
        case .sizeMismatch: "size_mismatch"
        case .overlappingTensors: "overlapping_tensors"
        case .holeInBuffer: "hole_in_buffer"
        case .bufferOverrun: "buffer_overrun"
        case .trailingBytes: "trailing_bytes"
        case .ioError: "io_error"
        }
    }

    /// A sentence saying what is wrong, for people.
    public var message: String {
        switch self {
        case .fileTooShort(let size):
            "The file is \(size) bytes long; a safetensors file needs at least the 8-byte header length."
        case .headerTooLarge(let declared):
            "The header length \(declared) is above the limit of \(SafetensorsLimits.maxHeaderBytes) bytes."
        case .headerLengthExceedsFile(let declared, let fileSize):
            "The header length \(declared) runs past the end of the \(fileSize)-byte file."
        case .inputTruncated(let needed, let available):
            "The header needs \(needed) bytes but only \(available) were supplied."
        case .headerNotUTF8(let offset):
            "The header is not valid UTF-8 (at header byte \(offset))."
        case .invalidHeaderStart:
            "The header must start with '{'; leading whitespace or other bytes are not accepted."
        case .headerNotJSON(let offset, let reason):
            "The header is not valid JSON at header byte \(offset): \(reason)."
        case .headerTooDeep(let offset):
            "The header nests arrays or objects deeper than \(SafetensorsLimits.maxJSONDepth) levels (at header byte \(offset))."
        case .headerNotObject:
            "The header must be a JSON object."
        case .invalidPadding(let offset):
            "Only spaces may follow the header's closing brace (found another byte at header byte \(offset))."
        case .duplicateKey(let key):
            "The key \(Self.quoted(key)) appears more than once in one JSON object."
        case .invalidMetadata(let reason):
            "__metadata__ must be an object whose values are strings: \(reason)."
        case .invalidTensorEntry(let tensor, let reason):
            "Tensor \(Self.quoted(tensor)) must be an object with exactly dtype, shape and data_offsets: \(reason)."
        case .unknownDType(let tensor, let dtype):
            "Tensor \(Self.quoted(tensor)) has unknown dtype \(Self.quoted(dtype)) (dtype names are case-sensitive)."
        case .invalidShape(let tensor):
            "Tensor \(Self.quoted(tensor)) has a shape that is not a list of non-negative integers below 2^64."
        case .invalidOffsets(let tensor):
            "Tensor \(Self.quoted(tensor)) must have data_offsets of two non-negative integers with begin <= end."
        case .sizeOverflow(let tensor):
            "Tensor \(Self.quoted(tensor)) has a shape whose size overflows 64 bits."
        case .subByteMisaligned(let tensor):
            "Tensor \(Self.quoted(tensor)) has a sub-byte dtype whose elements do not fill whole bytes."
        case .sizeMismatch(let tensor, let expected, let actual):
            "Tensor \(Self.quoted(tensor)) spans \(actual) bytes but its shape and dtype need \(expected)."
        case .overlappingTensors(let tensor, let previous):
            "Tensor \(Self.quoted(tensor)) overlaps tensor \(Self.quoted(previous)) in the data buffer."
        case .holeInBuffer(let tensor, let offset):
            "Tensor \(Self.quoted(tensor)) leaves unused bytes before it (the buffer is covered only up to offset \(offset))."
        case .bufferOverrun(let tensor, let end, let bufferSize):
            "Tensor \(Self.quoted(tensor)) ends at \(end), past the end of the \(bufferSize)-byte data buffer."
        case .trailingBytes(let count):
            "The data buffer has \(count) bytes after the last tensor."
        case .ioError(let operation, let reason):
            "Could not \(operation): \(reason)."
        }
    }

    /// Quotes an untrusted name for a message, escaping control characters and truncating.
    static func quoted(_ text: String) -> String {
        var out = "\""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == 120 {
                out += "…"
                break
            }
            count += 1
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension SafetensorsError: CustomStringConvertible {
    public var description: String { "\(code): \(message)" }
}
