import struct Crypto.SHA256
import Foundation
import VesselCore

/// Bearer tokens: `vsl_` followed by 256 random bits in base64url. Only their SHA-256 is
/// stored — a fast hash is right for 256-bit random secrets, which cannot be guessed.
public enum Tokens {
    public static func generate<R: RandomNumberGenerator>(using rng: inout R) -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        let encoded = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return "vsl_" + encoded
    }

    public static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        return generate(using: &rng)
    }

    public static func hash(_ token: String) -> String {
        Digest(bytes: SHA256.hash(data: Array(token.utf8))).hex
    }
}
