import Crypto
import Foundation
import VesselCore

/// Why a peer ticket was refused (a peer answers 401 `ticket_invalid` for each).
public enum PeerTicketError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not `base64url(payload).base64url(signature)` with a JSON `PeerTicket` payload.
    case malformed
    /// Signed by a key this verifier does not know (refetch the registry's keys, at most once
    /// a minute, and try again).
    case unknownKey(kid: String)
    /// The signature does not verify with the key its `kid` names: altered or forged.
    case badSignature
    /// `exp` is in the past (beyond the allowed clock skew).
    case expired
    /// A ticket for another blob.
    case wrongDigest

    public var description: String {
        switch self {
        case .malformed: "the ticket is not one the registry issued (malformed)"
        case .unknownKey(let kid): "the ticket is signed by an unknown registry key '\(kid.prefix(64))'"
        case .badSignature: "the ticket's signature does not verify"
        case .expired: "the ticket has expired"
        case .wrongDigest: "the ticket is for another blob"
        }
    }
}

/// A ticket as read, before its signature is checked: what `kid` to look up.
public struct UnverifiedPeerTicket: Sendable {
    public let payload: PeerTicket
    /// The payload's bytes exactly as signed.
    public let payloadBytes: [UInt8]
    public let signature: [UInt8]
}

/// The registry's ticket signing key (Ed25519, `Curve25519.Signing` of swift-crypto): kept in
/// the metadata database so every replica signs with the same one (decision 0029).
public struct PeerTicketSigner: Sendable {
    private let key: Curve25519.Signing.PrivateKey
    /// The key's id: the first 16 hex digits of the SHA-256 of its raw public key.
    public let kid: String

    /// - Throws: `PeerTicketError.malformed` unless `rawPrivateKey` is 32 bytes.
    public init(rawPrivateKey: Data) throws(PeerTicketError) {
        do { key = try Curve25519.Signing.PrivateKey(rawRepresentation: rawPrivateKey) } catch { throw .malformed }
        kid = PeerTickets.kid(publicKey: key.publicKey.rawRepresentation)
    }

    /// A new random key's 32 raw bytes (what the registry stores).
    public static func generateRawKey() -> Data { Curve25519.Signing.PrivateKey().rawRepresentation }

    /// The public half as `GET /api/v1/peers/ticket-keys` lists it.
    public var ticketKey: TicketKey {
        TicketKey(kid: kid, publicKey: key.publicKey.rawRepresentation.base64EncodedString())
    }

    /// A ticket for `digest` of `model` (`owner/name`) that runs out at `expires` (unix seconds).
    public func sign(model: String, digest: VesselCore.Digest, expires: Int) -> String {
        let payload = PeerTicket(kid: kid, model: model, digest: digest, exp: expires)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A struct of strings and an integer always encodes.
        let bytes = (try? encoder.encode(payload)) ?? Data()
        let signature = (try? key.signature(for: bytes)) ?? Data()
        return PeerTickets.base64url(bytes) + "." + PeerTickets.base64url(signature)
    }
}

/// Reading and checking peer tickets: `base64url(payload JSON) + "." + base64url(Ed25519
/// signature of the payload bytes)`, the payload a `PeerTicket`. Used by the peers (`vessel
/// cache serve`, `vessel agent --share`) and by the registry's tests.
public enum PeerTickets {
    /// The id of an Ed25519 public key: the first 16 hex digits of the SHA-256 of its raw bytes.
    public static func kid(publicKey: Data) -> String {
        String(VesselCore.Digest(bytes: SHA256.hash(data: publicKey)).hex.prefix(16))
    }

    /// Splits and decodes a ticket without checking it (to learn its `kid`).
    public static func parse(_ ticket: String) throws(PeerTicketError) -> UnverifiedPeerTicket {
        let parts = ticket.split(separator: ".", omittingEmptySubsequences: false)
        guard ticket.utf8.count <= 4096, parts.count == 2,
              let payload = decodeBase64url(parts[0]), let signature = decodeBase64url(parts[1]),
              let decoded = try? JSONDecoder().decode(PeerTicket.self, from: payload) else { throw .malformed }
        return UnverifiedPeerTicket(payload: decoded, payloadBytes: Array(payload), signature: Array(signature))
    }

    /// Checks `ticket` against one public key.
    /// - Parameters:
    ///   - publicKey: the raw 32-byte Ed25519 public key of the ticket's `kid`.
    ///   - digest: the blob being asked for; the ticket must name it.
    ///   - now: the verifier's clock.
    ///   - skew: how many seconds past `exp` are still accepted (a clock behind the registry's).
    /// - Returns: the verified payload.
    public static func verify(_ ticket: String, publicKey: Data, digest: VesselCore.Digest,
                              now: Date = Date(), skew: Int = PeerProtocol.ticketSkewSeconds) throws(PeerTicketError) -> PeerTicket {
        try verify(parse(ticket), publicKey: publicKey, digest: digest, now: now, skew: skew)
    }

    /// Checks a parsed ticket against one public key (see `verify(_:publicKey:digest:now:skew:)`).
    public static func verify(_ ticket: UnverifiedPeerTicket, publicKey: Data, digest: VesselCore.Digest,
                              now: Date = Date(), skew: Int = PeerProtocol.ticketSkewSeconds) throws(PeerTicketError) -> PeerTicket {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { throw .badSignature }
        guard kid(publicKey: key.rawRepresentation) == ticket.payload.kid else { throw .unknownKey(kid: ticket.payload.kid) }
        guard key.isValidSignature(ticket.signature, for: ticket.payloadBytes) else { throw .badSignature }
        guard Int(now.timeIntervalSince1970) <= ticket.payload.exp + skew else { throw .expired }
        guard ticket.payload.digest == digest else { throw .wrongDigest }
        return ticket.payload
    }

    /// Checks `ticket` against the registry's published keys (`TicketKeys.keys`).
    /// - Throws: `unknownKey` when no key has the ticket's `kid` (refetch the keys then).
    public static func verify(_ ticket: String, keys: [TicketKey], digest: VesselCore.Digest,
                              now: Date = Date(), skew: Int = PeerProtocol.ticketSkewSeconds) throws(PeerTicketError) -> PeerTicket {
        let parsed = try parse(ticket)
        guard let key = keys.first(where: { $0.kid == parsed.payload.kid }), let raw = Data(base64Encoded: key.publicKey) else {
            throw .unknownKey(kid: parsed.payload.kid)
        }
        return try verify(parsed, publicKey: raw, digest: digest, now: now, skew: skew)
    }

    static func base64url(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64url(_ text: Substring) -> Data? {
        guard !text.isEmpty, text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }) else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.utf8.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard)
    }
}
