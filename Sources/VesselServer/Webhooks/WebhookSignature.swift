import Crypto
import VesselCore

/// `Vessel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
/// Receivers recompute it over the raw body, compare in constant time, reject a `t` older than
/// five minutes, and dedupe by `Vessel-Event-Id` (README, "Webhooks").
public struct WebhookSignature: Sendable {
    /// The HMAC with the secret's key schedule done, copied for each message: a stream signs
    /// each of its events with the same secret.
    private let keyed: HMAC<SHA256>

    public init(secret: String) {
        keyed = HMAC<SHA256>(key: SymmetricKey(data: Array(secret.utf8)))
    }

    public func header(timestamp: Int64, body: [UInt8]) -> String {
        var mac = keyed
        mac.update(data: Array("\(timestamp).".utf8))
        mac.update(data: body)
        return "t=\(timestamp),v1=\(Hex.encode(mac.finalize()))"
    }

    /// A new random secret: `whsec_` and 32 random bytes in hex.
    public static func generateSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return "whsec_" + Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
