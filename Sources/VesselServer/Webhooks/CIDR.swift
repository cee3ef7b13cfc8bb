#if canImport(Glibc)
import Glibc
#endif
import VesselCore

/// An IPv4 or IPv6 network such as `127.0.0.0/8` or `fd00::/8`; a bare address is a /32 or /128.
public struct CIDR: Sendable, Equatable, CustomStringConvertible {
    /// 4 or 16 bytes, host bits cleared.
    public let network: [UInt8]
    public let prefix: Int
    public let description: String

    /// - Throws: `invalid_argument` for anything but `address[/prefix]`.
    public init(_ text: String) throws(VesselError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress.parse(String(parts[0])) else {
            throw .invalidArgument("'\(text)' is not a network such as 127.0.0.0/8 or fd00::/8")
        }
        let bits = address.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard let value = Int(parts[1]), value >= 0, value <= bits else {
                throw .invalidArgument("'\(text)': the prefix length must be 0…\(bits)")
            }
            prefix = value
        }
        self.prefix = prefix
        self.network = IPAddress.masked(address, prefix: prefix)
        self.description = text
    }

    public func contains(_ address: [UInt8]) -> Bool {
        address.count == network.count && IPAddress.masked(address, prefix: prefix) == network
    }
}

/// IP addresses as raw bytes (4 for IPv4, 16 for IPv6).
enum IPAddress {
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func masked(_ address: [UInt8], prefix: Int) -> [UInt8] {
        address.enumerated().map { index, byte in
            let keep = max(0, min(8, prefix - index * 8))
            return keep == 8 ? byte : byte & UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
        }
    }

    static func text(_ address: [UInt8]) -> String {
        if address.count == 4 { return address.map(String.init).joined(separator: ".") }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: address.prefix(16)) }
        guard inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The IPv4 address an IPv6 address carries, if it has one of the forms that route to it:
    /// IPv4-mapped `::ffff:a.b.c.d`, SIIT-translated `::ffff:0:a.b.c.d`, IPv4-compatible
    /// `::a.b.c.d` (deprecated, still routed by some stacks; not `::` and `::1`) and 6to4
    /// `2002:AABB:CCDD::/48`. NAT64 (`64:ff9b::/96`) is refused as a whole instead.
    static func embeddedIPv4(_ address: [UInt8]) -> [UInt8]? {
        guard address.count == 16 else { return nil }
        if address[0] == 0x20, address[1] == 0x02 { return Array(address[2..<6]) }
        guard address[0..<8].allSatisfy({ $0 == 0 }), !address[0..<15].allSatisfy({ $0 == 0 }) || address[15] > 1 else { return nil }
        switch (address[8], address[9], address[10], address[11]) {
        case (0, 0, 0xFF, 0xFF), (0xFF, 0xFF, 0, 0), (0, 0, 0, 0): return Array(address[12..<16])
        default: return nil
        }
    }

    /// Whether `address` is IPv4-mapped (`::ffff:a.b.c.d`): the same host as its IPv4 address.
    static func isMapped(_ address: [UInt8]) -> Bool {
        address.count == 16 && address[0..<10].allSatisfy({ $0 == 0 }) && address[10] == 0xFF && address[11] == 0xFF
    }
}
