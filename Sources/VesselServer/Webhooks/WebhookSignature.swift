import Crypto
import VesselCore

/// `Vessel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
/// Receivers recompute it over the raw body, compare in constant time, reject a `t` older than
/// five minutes, and dedupe by `Vessel-Event-Id` (README, "Webhooks").
public enum WebhookSignature {
    public static func header(secret: String, timestamp: Int64, body: [UInt8]) -> String {
        "t=\(timestamp),v1=\(hex(secret: secret, timestamp: timestamp, body: body))"
    }

    public static func hex(secret: String, timestamp: Int64, body: [UInt8]) -> String {
        var mac = HMAC<SHA256>(key: SymmetricKey(data: Array(secret.utf8)))
        mac.update(data: Array("\(timestamp).".utf8))
        mac.update(data: body)
        return Hex.encode(mac.finalize())
    }

    /// A new random secret: `whsec_` and 32 random bytes in hex.
    public static func generateSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return "whsec_" + Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
