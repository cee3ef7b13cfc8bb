import VesselCore

/// The raw (syntactic) stage of header parsing: UTF-8, the leading `{`, strict JSON, an
/// object at the top, and space-only padding after it. Produces the object's members for
/// ``SafetensorsHeaderValidator``.
///
/// Leading whitespace decision: the header must start with `{` (byte 0x7B), as the format's
/// README states. The reference implementation has accepted leading JSON whitespace since
/// 0.8, but no writer produces it, and accepting it would make "is this a safetensors
/// header" ambiguous for sniffers. See docs/safetensors.md.
enum SafetensorsHeaderSyntax {
    static func parseRoot(_ body: UnsafeRawBufferPointer) throws(SafetensorsError) -> [StrictJSONMember] {
        if let offset = SafetensorsUTF8.firstInvalidOffset(in: body) { throw .headerNotUTF8(offset: offset) }
        guard let first = body.first else { throw .headerNotJSON(offset: 0, reason: "the header is empty") }
        switch first {
        case 0x20, 0x09, 0x0A, 0x0D: throw .invalidHeaderStart
        default: break
        }
        var parser = StrictJSONReader(bytes: body, options: .safetensors)
        let value: StrictJSONValue
        do {
            value = try parser.parseValue()
        } catch {
            switch error {
            case .syntax(let offset, let reason): throw .headerNotJSON(offset: offset, reason: reason)
            case .tooDeep(let offset): throw .headerTooDeep(offset: offset)
            case .duplicateKey(let key, _): throw .duplicateKey(key)
            }
        }
        guard case .object(let members) = value else { throw .headerNotObject }
        var index = parser.position
        while index < body.count {
            guard body[index] == 0x20 else { throw .invalidPadding(offset: index) }
            index += 1
        }
        return members
    }
}
