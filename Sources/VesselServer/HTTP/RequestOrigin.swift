import Foundation
import Hummingbird
import NIOCore

/// Where a request comes from: the client's address and the scheme it used, for the audit
/// entry (and anything that builds links or cookies). `X-Forwarded-For` and
/// `X-Forwarded-Proto` are believed only when the connection comes from a `--trust-proxy`
/// network; from anywhere else they are ignored, so a client cannot name another address.
struct RequestOrigin: Sendable, Equatable {
    /// The client's IP address as text, nil when the connection has none (a test channel).
    let address: String?
    /// `https` or `http`.
    let scheme: String

    static func of(_ request: Request, channel: any Channel, proxies: [CIDR], tls: Bool) -> RequestOrigin {
        let peer = (channel.remoteAddress ?? channel.parent?.remoteAddress)?.ipAddress
        let scheme = tls ? "https" : "http"
        guard let peer, let peerBytes = IPAddress.parse(peer).map(unmapped) else { return RequestOrigin(address: peer, scheme: scheme) }
        guard !proxies.isEmpty, trusted(peerBytes, proxies) else { return RequestOrigin(address: IPAddress.text(peerBytes), scheme: scheme) }
        let forwardedFor = request.headers.filter { $0.name.canonicalName == "x-forwarded-for" }.map(\.value)
        let forwardedProto = request.headers.first { $0.name.canonicalName == "x-forwarded-proto" }?.value
        return RequestOrigin(address: forwardedClient(forwardedFor, peer: peerBytes, proxies: proxies),
                             scheme: forwardedScheme(forwardedProto) ?? scheme)
    }

    /// The rightmost address of `X-Forwarded-For` that is not a trusted proxy (each proxy appends
    /// the address it received from), or the leftmost if all are; an entry that is not an
    /// address ends the walk at the last trusted hop.
    static func forwardedClient(_ values: [String], peer: [UInt8], proxies: [CIDR]) -> String {
        let hops = values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var last = peer
        for hop in hops.reversed() {
            guard let bytes = IPAddress.parse(hop).map(unmapped) else { break }
            last = bytes
            if !trusted(bytes, proxies) { break }
        }
        return IPAddress.text(last)
    }

    static func forwardedScheme(_ value: String?) -> String? {
        guard let first = value?.split(separator: ",").first?.trimmingCharacters(in: .whitespaces).lowercased() else { return nil }
        return first == "https" || first == "http" ? first : nil
    }

    static func trusted(_ address: [UInt8], _ proxies: [CIDR]) -> Bool {
        proxies.contains { $0.contains(address) }
    }

    /// `::ffff:a.b.c.d` is the IPv4 host a.b.c.d.
    static func unmapped(_ address: [UInt8]) -> [UInt8] {
        IPAddress.isMapped(address) ? Array(address[12..<16]) : address
    }
}
