import VesselCore
import Foundation

/// The parts of a model-signing bundle needed to check its signature, parsed
/// strictly from untrusted bytes. Nothing here is authenticated yet.
struct BundleEnvelope: Equatable {
    /// `verificationMaterial.publicKey.hint`, `nil` when absent or empty (model-signing then skips the check).
    var hint: String?
    var payloadType: String
    /// The statement bytes exactly as signed.
    var payload: [UInt8]
    /// The DER ECDSA signature.
    var signature: [UInt8]

    static func parse(_ bytes: [UInt8]) throws(VerificationError) -> BundleEnvelope {
        guard bytes.count <= BundleFormat.maxBundleBytes else {
            throw .malformedBundle("the file is larger than \(BundleFormat.maxBundleBytes) bytes")
        }
        let root: JSONValue
        do {
            root = try StrictJSONParser.parse(bytes)
        } catch {
            throw .malformedBundle("not valid JSON (\(error))")
        }
        guard root.isObject else { throw .malformedBundle("the top level is \(root.kindName), expected an object") }
        if root["messageSignature"] != nil {
            throw .unsupportedBundle("it holds a message signature, not a DSSE envelope")
        }
        try requireOnly(["mediaType", "verificationMaterial", "dsseEnvelope"], in: root, at: "the bundle")
        let mediaType = try string(root["mediaType"], at: "mediaType")
        guard mediaType == BundleFormat.mediaType else {
            throw .unsupportedBundle("media type \(JSONText.quoted(mediaType)), expected \(BundleFormat.mediaType)")
        }
        let hint = try parseHint(root["verificationMaterial"])
        guard let dsse = root["dsseEnvelope"], dsse.isObject else {
            throw .malformedBundle("dsseEnvelope is missing or not an object")
        }
        try requireOnly(["payload", "payloadType", "signatures"], in: dsse, at: "dsseEnvelope")
        let payload = try base64(dsse["payload"], at: "dsseEnvelope.payload")
        let payloadType = try string(dsse["payloadType"], at: "dsseEnvelope.payloadType")
        guard let signatures = dsse["signatures"]?.arrayValue else {
            throw .malformedBundle("dsseEnvelope.signatures is missing or not an array")
        }
        guard signatures.count == 1 else {
            if signatures.isEmpty { throw .malformedBundle("dsseEnvelope.signatures is empty") }
            throw .unsupportedBundle("it has \(signatures.count) signatures; model-signing writes exactly one")
        }
        let entry = signatures[0]
        guard entry.isObject else { throw .malformedBundle("dsseEnvelope.signatures[0] is not an object") }
        try requireOnly(["sig", "keyid"], in: entry, at: "dsseEnvelope.signatures[0]")
        if let keyid = entry["keyid"], keyid.stringValue == nil {
            throw .malformedBundle("dsseEnvelope.signatures[0].keyid is \(keyid.kindName), expected a string")
        }
        let signature = try base64(entry["sig"], at: "dsseEnvelope.signatures[0].sig")
        return BundleEnvelope(hint: hint, payloadType: payloadType, payload: payload, signature: signature)
    }

    private static func parseHint(_ material: JSONValue?) throws(VerificationError) -> String? {
        guard let material, material.isObject else {
            throw .malformedBundle("verificationMaterial is missing or not an object")
        }
        for key in ["certificate", "x509CertificateChain"] where material[key] != nil {
            throw .unsupportedBundle("it carries a \(key); Vessel verifies the key method only")
        }
        try requireOnly(["publicKey", "tlogEntries", "timestampVerificationData"], in: material, at: "verificationMaterial")
        if let entries = material["tlogEntries"], entries.arrayValue == nil {
            throw .malformedBundle("verificationMaterial.tlogEntries is \(entries.kindName), expected an array")
        }
        guard let publicKey = material["publicKey"] else {
            throw .unsupportedBundle("verificationMaterial has no publicKey; Vessel verifies the key method only")
        }
        guard publicKey.isObject else { throw .malformedBundle("verificationMaterial.publicKey is not an object") }
        // model-signing drops rawBytes and keyDetails when reading; accept and ignore them likewise.
        try requireOnly(["hint", "rawBytes", "keyDetails"], in: publicKey, at: "verificationMaterial.publicKey")
        switch publicKey["hint"] {
        case nil, .null?:
            return nil
        case .string(let hint)?:
            return hint.isEmpty ? nil : hint
        case let other?:
            throw .malformedBundle("verificationMaterial.publicKey.hint is \(other.kindName), expected a string")
        }
    }

    private static func requireOnly(_ allowed: Set<String>, in object: JSONValue, at location: String) throws(VerificationError) {
        if let unknown = object.keys.first(where: { !allowed.contains($0) }) {
            throw .malformedBundle("unexpected key \(JSONText.quoted(unknown)) in \(location)")
        }
    }

    private static func string(_ value: JSONValue?, at location: String) throws(VerificationError) -> String {
        guard let value else { throw .malformedBundle("\(location) is missing") }
        guard let text = value.stringValue else { throw .malformedBundle("\(location) is \(value.kindName), expected a string") }
        return text
    }

    private static func base64(_ value: JSONValue?, at location: String) throws(VerificationError) -> [UInt8] {
        let text = try string(value, at: location)
        guard let data = Data(base64Encoded: text) else {
            throw .malformedBundle("\(location) is not standard base64")
        }
        guard !data.isEmpty else { throw .malformedBundle("\(location) is empty") }
        return Array(data)
    }
}
