/// Element types a safetensors header may name, spelled exactly as in the header.
///
/// The list matches the reference implementation (`safetensors` 0.8.0, 22 dtypes). Names are
/// case-sensitive: `f32` is rejected as an unknown dtype. Sub-byte types (`F4`, `F6_*`) pack
/// elements without padding, so a tensor of them must hold a whole number of bytes.
public enum SafetensorsDType: String, Sendable, Hashable, CaseIterable, Codable {
    case bool = "BOOL"
    /// 4-bit float (E2M1, MX FP4), two elements per byte.
    case f4 = "F4"
    /// 6-bit float, E2M3 (MX FP6).
    case f6E2M3 = "F6_E2M3"
    /// 6-bit float, E3M2 (MX FP6).
    case f6E3M2 = "F6_E3M2"
    case u8 = "U8"
    case i8 = "I8"
    case f8E5M2 = "F8_E5M2"
    case f8E4M3 = "F8_E4M3"
    /// 8-bit exponent-only scale type (MX block scales).
    case f8E8M0 = "F8_E8M0"
    case f8E4M3FNUZ = "F8_E4M3FNUZ"
    case f8E5M2FNUZ = "F8_E5M2FNUZ"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    /// Complex number of two F32 values.
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bits one element occupies.
    public var bitWidth: UInt64 {
        switch self {
        case .f4: 4
        case .f6E2M3, .f6E3M2: 6
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0, .f8E4M3FNUZ, .f8E5M2FNUZ: 8
        case .i16, .u16, .f16, .bf16: 16
        case .i32, .u32, .f32: 32
        case .c64, .f64, .i64, .u64: 64
        }
    }

    /// Bytes needed for `elements` elements, or why there is no answer: the bit count
    /// overflows 64 bits, or a sub-byte dtype's elements do not fill whole bytes.
    public func byteCount(forElements elements: UInt64) -> Result<UInt64, ByteCountFailure> {
        let (bits, overflow) = elements.multipliedReportingOverflow(by: bitWidth)
        if overflow { return .failure(.overflow) }
        if bits % 8 != 0 { return .failure(.notWholeBytes) }
        return .success(bits / 8)
    }

    /// Why ``byteCount(forElements:)`` has no answer.
    public enum ByteCountFailure: Error, Sendable, Equatable {
        case overflow
        case notWholeBytes
    }

    /// Product of `shape` (1 for rank 0), or nil on 64-bit overflow.
    public static func elementCount(of shape: [UInt64]) -> UInt64? {
        var product: UInt64 = 1
        for dimension in shape {
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            product = next
        }
        return product
    }
}
