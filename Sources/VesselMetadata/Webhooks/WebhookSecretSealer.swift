import Crypto
import Foundation
import VesselCore

/// How webhook signing secrets are kept in the `webhooks.secret` column.
///
/// With a key (`vessel serve --secrets-key-file FILE`) a secret is stored as
/// `v1:` + base64(nonce ‖ ciphertext ‖ tag): AES-256-GCM with a random 12-byte nonce per
/// secret and the webhook's id as authenticated data, so a sealed value copied to another row
/// does not open. Without a key secrets are stored as given (a secret that itself begins with
/// `v0:` or `v1:` is stored behind a `v0:` marker). Reading tells the forms apart by prefix, so
/// rows written before a key was given keep working (and `SQLMetadataStore.prepareWebhookSecrets`
/// seals them at start-up).
public struct WebhookSecretSealer: Sendable {
    let key: SymmetricKey?

    /// Secrets stored as given.
    public static let plaintext = WebhookSecretSealer(key: nil)

    public init(key: SymmetricKey) { self.key = key }

    private init(key: SymmetricKey?) { self.key = key }

    /// True when secrets are sealed.
    public var encrypts: Bool { key != nil }

    static let sealedPrefix = "v1:"
    static let plainPrefix = "v0:"

    /// A key file holds the 32 key bytes: raw (exactly 32 bytes), or as 64 hex digits, or as
    /// base64, with surrounding whitespace ignored. `openssl rand -hex 32 > FILE` makes one.
    /// - Throws: `invalid_argument` when the file cannot be read or holds anything else.
    public static func load(keyFile path: String) throws(VesselError) -> WebhookSecretSealer {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .invalidArgument("cannot read the secrets key file \(path)")
        }
        guard let key = parseKey(Array(data)) else {
            throw .invalidArgument("the secrets key file \(path) must hold 32 random bytes: raw, as 64 hex digits or as base64 (e.g. `openssl rand -hex 32`)")
        }
        return WebhookSecretSealer(key: SymmetricKey(data: key))
    }

    /// The 32 key bytes in `data` (see `load(keyFile:)`), nil for anything else.
    /// 32 bytes that are all printable text are not taken as a raw key: that is a typed
    /// password or the hex of a 16-byte key (random bytes are all printable once in 10^14).
    static func parseKey(_ data: [UInt8]) -> [UInt8]? {
        if data.count == 32, !data.allSatisfy({ (0x20...0x7E).contains($0) || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return data }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.utf8.count == 64, let bytes = Hex.decodeLowercase(text.lowercased(), byteCount: 32) { return bytes }
        if let decoded = Data(base64Encoded: text), decoded.count == 32 { return Array(decoded) }
        return nil
    }

    /// `secret` as stored for the webhook `id`.
    public func seal(_ secret: String, id: String) throws -> String {
        guard let key else {
            let marked = secret.hasPrefix(Self.sealedPrefix) || secret.hasPrefix(Self.plainPrefix)
            return marked ? Self.plainPrefix + secret : secret
        }
        let box = try AES.GCM.seal(Array(secret.utf8), using: key, authenticating: Array(id.utf8))
        guard let combined = box.combined else { throw VesselError.internalError("AES-GCM gave no combined form") }
        return Self.sealedPrefix + combined.base64EncodedString()
    }

    /// Whether `stored` is a sealed secret.
    public static func isSealed(_ stored: String) -> Bool { stored.hasPrefix(sealedPrefix) }

    /// The secret of webhook `id` from its stored form.
    /// - Throws: `unavailable` when it is sealed and there is no key, or the key does not open it.
    public func open(_ stored: String, id: String) throws(VesselError) -> String {
        if stored.hasPrefix(Self.plainPrefix) { return String(stored.dropFirst(Self.plainPrefix.count)) }
        guard Self.isSealed(stored) else { return stored }
        guard let key else {
            throw VesselError(.unavailable, "webhook secrets are encrypted but the server has no key: start it with --secrets-key-file")
        }
        guard let combined = Data(base64Encoded: String(stored.dropFirst(Self.sealedPrefix.count))),
              let box = try? AES.GCM.SealedBox(combined: combined),
              let plain = try? AES.GCM.open(box, using: key, authenticating: Array(id.utf8)) else {
            throw VesselError(.unavailable, "the secrets key does not open the signing secret of webhook '\(id)': is --secrets-key-file the key the secrets were stored with?")
        }
        return String(decoding: plain, as: UTF8.self)
    }
}
