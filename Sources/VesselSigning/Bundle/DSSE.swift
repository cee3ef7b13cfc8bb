/// DSSE v1 pre-authentication encoding, the bytes a DSSE signature covers:
/// `"DSSEv1" SP len(type) SP type SP len(payload) SP payload`, lengths in
/// decimal bytes and the payload raw.
enum DSSE {
    static func preAuthenticationEncoding(payloadType: String, payload: [UInt8]) -> [UInt8] {
        let type = Array(payloadType.utf8)
        var out = Array("DSSEv1 \(type.count) ".utf8)
        out.reserveCapacity(out.count + type.count + payload.count + 24)
        out += type
        out += Array(" \(payload.count) ".utf8)
        out += payload
        return out
    }
}
