#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOPosix
import Synchronization
import VesselCore

/// Where webhooks may be delivered. By default every address a host name resolves to must be
/// public: loopback, private, shared (CGNAT), link-local (which holds the cloud metadata
/// service, 169.254.169.254), known metadata addresses, benchmarking (198.18.0.0/15),
/// multicast and reserved ranges are refused, and so are the IPv6 forms that carry an IPv4
/// address (see `IPAddress.embeddedIPv4`) whenever the address they carry is refused.
/// `allowed` networks (`vessel serve --webhook-allow CIDR`) lift the refusal for addresses
/// inside them. Checked when a subscription is created and again before every attempt.
public struct DestinationPolicy: Sendable {
    public let allowed: [CIDR]

    public init(allowed: [CIDR]) {
        self.allowed = allowed
    }

    /// Ranges refused by default, with the reason shown to the user.
    static let refused: [(CIDR, String)] = {
        let table: [(String, String)] = [
            ("0.0.0.0/8", "an unspecified address"), ("127.0.0.0/8", "a loopback address"),
            ("10.0.0.0/8", "a private address"), ("172.16.0.0/12", "a private address"), ("192.168.0.0/16", "a private address"),
            ("100.64.0.0/10", "a shared (CGNAT) address"), ("169.254.0.0/16", "a link-local address (cloud metadata lives here)"),
            ("100.100.100.200/32", "a cloud metadata address"), ("192.0.0.0/24", "a reserved address"),
            ("198.18.0.0/15", "a benchmarking address"),
            ("224.0.0.0/4", "a multicast address"), ("240.0.0.0/4", "a reserved address"),
            ("::/128", "an unspecified address"), ("::1/128", "a loopback address"), ("fe80::/10", "a link-local address"),
            ("fc00::/7", "a private (unique local) address"), ("fd00:ec2::254/128", "a cloud metadata address"),
            ("ff00::/8", "a multicast address"), ("64:ff9b::/96", "a NAT64 address"),
        ]
        return table.compactMap { entry in (try? CIDR(entry.0)).map { ($0, entry.1) } }
    }()

    /// Why `address` is refused, or nil when deliveries may go there.
    /// An IPv6 address that carries an IPv4 one is refused when either is refused; allowing
    /// the IPv4 network allows its IPv6 forms too.
    public func refusal(_ address: [UInt8]) -> String? {
        if let v4 = IPAddress.embeddedIPv4(address) {
            if IPAddress.isMapped(address) { return refusal(v4) }
            if let kind = kind(of: v4) { return "\(IPAddress.text(address)) carries \(IPAddress.text(v4)), \(kind)" }
        }
        return kind(of: address).map { "\(IPAddress.text(address)) is \($0)" }
    }

    /// What kind of refused address `address` is ("a loopback address"), nil when it is allowed.
    private func kind(of address: [UInt8]) -> String? {
        if allowed.contains(where: { $0.contains(address) }) { return nil }
        return Self.refused.first { $0.0.contains(address) }?.1
    }

    /// A URL that passed the policy, with the host name and the addresses that were checked.
    public struct Destination: Sendable {
        public var url: URL
        /// The URL's host without IPv6 brackets.
        public var host: String
        public var addresses: [[UInt8]]
    }

    /// Checks `url` (http or https, a host) and every address its host resolves to. `subject`
    /// names what the URL is for in the messages (`webhook`, `endpoint`).
    /// - Throws: `invalid_argument` for a malformed URL, a host that does not resolve, or a refused address.
    public func check(_ text: String, subject: String = "webhook") async throws -> Destination {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              var host = url.host, !host.isEmpty, text.count <= 2048 else {
            throw VesselError.invalidArgument("\(subject) URL '\(text)' must be an http:// or https:// URL with a host")
        }
        guard url.user == nil, url.password == nil else {
            throw VesselError.invalidArgument(subject == "webhook" ? "webhook URLs must not carry credentials; use the signing secret instead" : "\(subject) URLs must not carry credentials")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let addresses = try await Self.resolve(host)
        guard !addresses.isEmpty else { throw VesselError.invalidArgument("\(subject) host '\(host)' does not resolve") }
        for address in addresses {
            if let reason = refusal(address) {
                throw VesselError.invalidArgument("\(subject) destination refused: \(host) resolves to \(reason); a server admin can allow it with `vessel serve --webhook-allow CIDR`")
            }
        }
        return Destination(url: url, host: host, addresses: addresses)
    }

    /// Every address `host` resolves to (see `HostResolver`).
    static func resolve(_ host: String) async throws -> [[UInt8]] {
        try await HostResolver.shared.resolve(host)
    }
}

/// Resolves webhook hosts with getaddrinfo on threads of its own, remembering each answer for
/// `ttl`. getaddrinfo blocks; on NIO's shared thread pool, where every SQLite statement of
/// the API runs, a slow resolver held those threads, and a stream asked it once per event.
/// Within the TTL a host is not asked again, but its remembered addresses are still checked
/// against the policy before every attempt, and the connection still goes to one of them.
final class HostResolver: Sendable {
    static let shared = HostResolver(ttl: .seconds(30), lookup: HostResolver.lookup)

    /// Two threads for every resolver: lookups are rare (once per host per TTL).
    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    let ttl: Duration
    private let lookup: @Sendable (String) throws -> [[UInt8]]
    private let answers = Mutex<[String: (addresses: [[UInt8]], until: ContinuousClock.Instant)]>([:])

    init(ttl: Duration, lookup: @escaping @Sendable (String) throws -> [[UInt8]]) {
        self.ttl = ttl
        self.lookup = lookup
    }

    func resolve(_ host: String) async throws -> [[UInt8]] {
        if let literal = IPAddress.parse(host) { return [literal] }
        let now = ContinuousClock.now
        if let known = answers.withLock({ $0[host] }), known.until > now { return known.addresses }
        let lookup = lookup
        let addresses = try await Self.pool.runIfActive { try lookup(host) }
        answers.withLock { answers in
            if answers.count >= 1024 { answers.removeAll() }
            answers[host] = (addresses, now + ttl)
        }
        return addresses
    }

    /// getaddrinfo: every IPv4 and IPv6 address of `host`.
    static func lookup(_ host: String) throws -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else {
            throw VesselError.invalidArgument("webhook host '\(host)' does not resolve")
        }
        defer { freeaddrinfo(first) }
        var addresses: [[UInt8]] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let sockaddr = entry.pointee.ai_addr {
                if entry.pointee.ai_family == AF_INET {
                    var v4 = sockaddr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    addresses.append(withUnsafeBytes(of: &v4) { Array($0) })
                } else if entry.pointee.ai_family == AF_INET6 {
                    var v6 = sockaddr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    addresses.append(withUnsafeBytes(of: &v6) { Array($0) })
                }
            }
            cursor = entry.pointee.ai_next
        }
        return addresses
    }
}
