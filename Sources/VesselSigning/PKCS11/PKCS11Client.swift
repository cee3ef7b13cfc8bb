import CPKCS11

/// Thin, typed wrappers over the Cryptoki calls the signing key makes. Each
/// turns a non-`CKR_OK` return value into ``PKCS11Error``; none keeps state.
struct PKCS11Client {
    let functions: CK_FUNCTION_LIST

    private func check(_ rv: CK_RV, _ function: String) throws(PKCS11Error) {
        guard rv == CKR_OK else { throw .callFailed(function: function, returnValue: rv) }
    }

    private func missing(_ function: String) -> PKCS11Error {
        .callFailed(function: function, returnValue: 0x54) // CKR_FUNCTION_NOT_SUPPORTED
    }

    /// The first slot whose token label, without its blank padding, equals `label`.
    func slot(withTokenLabel label: String) throws(PKCS11Error) -> CK_SLOT_ID {
        guard let getSlotList = functions.C_GetSlotList else { throw missing("C_GetSlotList") }
        guard let getTokenInfo = functions.C_GetTokenInfo else { throw missing("C_GetTokenInfo") }
        var count: CK_ULONG = 0
        try check(getSlotList(CK_BBOOL(1), nil, &count), "C_GetSlotList")
        var slots = [CK_SLOT_ID](repeating: 0, count: Int(count))
        if count > 0 {
            try check(slots.withUnsafeMutableBufferPointer { getSlotList(CK_BBOOL(1), $0.baseAddress, &count) }, "C_GetSlotList")
        }
        let wanted = Self.trimmedLabel(Array(label.utf8))
        for slot in slots.prefix(Int(count)) {
            var info = CK_TOKEN_INFO()
            guard getTokenInfo(slot, &info) == CKR_OK else { continue }
            let padded = withUnsafeBytes(of: &info.label) { Array($0) }
            if Self.trimmedLabel(padded) == wanted { return slot }
        }
        throw .tokenNotFound(label: label)
    }

    /// `bytes` without trailing blanks and NULs (token labels are 32-byte blank-padded fields).
    static func trimmedLabel(_ bytes: [UInt8]) -> [UInt8] {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x20 || bytes[end - 1] == 0 { end -= 1 }
        return Array(bytes[..<end])
    }

    func openSession(slot: CK_SLOT_ID) throws(PKCS11Error) -> CK_SESSION_HANDLE {
        guard let open = functions.C_OpenSession else { throw missing("C_OpenSession") }
        var session: CK_SESSION_HANDLE = 0
        try check(open(slot, CK_FLAGS(CKF_SERIAL_SESSION), nil, nil, &session), "C_OpenSession")
        return session
    }

    /// Handles of the objects of `objectClass` whose `CKA_LABEL` is `label` (at most 16).
    func objects(session: CK_SESSION_HANDLE, objectClass: CK_ULONG, label: [UInt8]) throws(PKCS11Error) -> [CK_OBJECT_HANDLE] {
        guard let findInit = functions.C_FindObjectsInit,
              let find = functions.C_FindObjects,
              let findFinal = functions.C_FindObjectsFinal
        else { throw missing("C_FindObjects") }
        var objectClass = objectClass
        var labelBytes = label
        let initRV = withUnsafeMutableBytes(of: &objectClass) { classBuffer in
            labelBytes.withUnsafeMutableBytes { labelBuffer in
                var template = [
                    CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_CLASS), pValue: classBuffer.baseAddress,
                                 ulValueLen: CK_ULONG(classBuffer.count)),
                    CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_LABEL), pValue: labelBuffer.baseAddress,
                                 ulValueLen: CK_ULONG(labelBuffer.count)),
                ]
                return findInit(session, &template, CK_ULONG(template.count))
            }
        }
        try check(initRV, "C_FindObjectsInit")
        var handles = [CK_OBJECT_HANDLE](repeating: 0, count: 16)
        var found: CK_ULONG = 0
        let findRV = handles.withUnsafeMutableBufferPointer { find(session, $0.baseAddress, CK_ULONG($0.count), &found) }
        let finalRV = findFinal(session)
        try check(findRV, "C_FindObjects")
        try check(finalRV, "C_FindObjectsFinal")
        return Array(handles.prefix(Int(min(found, CK_ULONG(handles.count)))))
    }

    /// The single object of `objectClass` labelled `label`.
    func uniqueObject(session: CK_SESSION_HANDLE, objectClass: CK_ULONG, label: [UInt8], keyLabel: String) throws(PKCS11Error) -> CK_OBJECT_HANDLE {
        let found = try objects(session: session, objectClass: objectClass, label: label)
        guard let first = found.first else { throw .keyNotFound(label: keyLabel) }
        guard found.count == 1 else { throw .ambiguousKey(label: keyLabel, count: found.count) }
        return first
    }

    /// The value of attribute `type` of `object` (two calls: length, then value).
    func attribute(session: CK_SESSION_HANDLE, object: CK_OBJECT_HANDLE, type: CK_ATTRIBUTE_TYPE) throws(PKCS11Error) -> [UInt8] {
        guard let get = functions.C_GetAttributeValue else { throw missing("C_GetAttributeValue") }
        var probe = CK_ATTRIBUTE(type: type, pValue: nil, ulValueLen: 0)
        try check(get(session, object, &probe, 1), "C_GetAttributeValue")
        guard probe.ulValueLen != CK_ULONG.max, probe.ulValueLen <= 4096 else {
            throw .unsupportedKey("attribute 0x\(String(type, radix: 16)) is unavailable")
        }
        var value = [UInt8](repeating: 0, count: Int(probe.ulValueLen))
        let rv = value.withUnsafeMutableBytes { buffer in
            var attribute = CK_ATTRIBUTE(type: type, pValue: buffer.baseAddress, ulValueLen: CK_ULONG(buffer.count))
            let rv = get(session, object, &attribute, 1)
            probe.ulValueLen = attribute.ulValueLen
            return rv
        }
        try check(rv, "C_GetAttributeValue")
        return Array(value.prefix(Int(min(probe.ulValueLen, CK_ULONG(value.count)))))
    }

    /// The EC public key of a public key object, from `CKA_EC_PARAMS` and `CKA_EC_POINT`.
    func ecPublicKey(session: CK_SESSION_HANDLE, object: CK_OBJECT_HANDLE) throws(PKCS11Error) -> VerificationKey {
        let params = try attribute(session: session, object: object, type: CK_ATTRIBUTE_TYPE(CKA_EC_PARAMS))
        guard let curve = ECCurve(namedCurveDER: params) else {
            throw .unsupportedKey("CKA_EC_PARAMS does not name P-256, P-384 or P-521")
        }
        let encoded = try attribute(session: session, object: object, type: CK_ATTRIBUTE_TYPE(CKA_EC_POINT))
        guard let point = Self.uncompressedPoint(fromECPoint: encoded, curve: curve) else {
            throw .unsupportedKey("CKA_EC_POINT is not an uncompressed \(curve.rawValue) point")
        }
        do {
            return try VerificationKey(curve: curve, x963Representation: point)
        } catch {
            throw .unsupportedKey(error.message)
        }
    }

    /// The point inside `CKA_EC_POINT`: a DER OCTET STRING wrapping `04 ‖ X ‖ Y`
    /// per the specification; some modules return the bare point, accepted too.
    static func uncompressedPoint(fromECPoint bytes: [UInt8], curve: ECCurve) -> [UInt8]? {
        let pointLength = 1 + 2 * curve.coordinateByteCount
        if bytes.count == pointLength, bytes.first == 0x04 { return bytes }
        guard bytes.count >= 2, bytes[0] == 0x04 else { return nil }
        var offset = 1
        var length = 0
        if bytes[offset] < 0x80 {
            length = Int(bytes[offset])
            offset += 1
        } else if bytes[offset] == 0x81, bytes.count >= 3 {
            length = Int(bytes[offset + 1])
            offset += 2
        } else {
            return nil
        }
        guard length == pointLength, bytes.count == offset + length, bytes[offset] == 0x04 else { return nil }
        return Array(bytes[offset...])
    }

    /// Signs a precomputed digest with `CKM_ECDSA`; returns the raw `r ‖ s`.
    func signDigest(session: CK_SESSION_HANDLE, key: CK_OBJECT_HANDLE, digest: [UInt8], maxSignatureBytes: Int) throws(PKCS11Error) -> [UInt8] {
        guard let signInit = functions.C_SignInit, let sign = functions.C_Sign else { throw missing("C_Sign") }
        var mechanism = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(CKM_ECDSA), pParameter: nil, ulParameterLen: 0)
        try check(signInit(session, &mechanism, key), "C_SignInit")
        var input = digest
        var signature = [UInt8](repeating: 0, count: maxSignatureBytes)
        var length = CK_ULONG(signature.count)
        var rv = input.withUnsafeMutableBufferPointer { data in
            signature.withUnsafeMutableBufferPointer { out in
                sign(session, data.baseAddress, CK_ULONG(data.count), out.baseAddress, &length)
            }
        }
        if rv == CKR_BUFFER_TOO_SMALL, length <= 1024 {
            // The operation stays active after CKR_BUFFER_TOO_SMALL; finish it with a buffer of the size asked for.
            signature = [UInt8](repeating: 0, count: Int(length))
            rv = input.withUnsafeMutableBufferPointer { data in
                signature.withUnsafeMutableBufferPointer { out in
                    sign(session, data.baseAddress, CK_ULONG(data.count), out.baseAddress, &length)
                }
            }
        }
        try check(rv, "C_Sign")
        return Array(signature.prefix(Int(min(length, CK_ULONG(signature.count)))))
    }
}
