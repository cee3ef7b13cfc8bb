import Testing
import VesselCore
@testable import VesselServer

/// IPv6 forms that carry an IPv4 address (mapped, IPv4-compatible, 6to4, SIIT-translated)
/// are refused whenever the IPv4 address they carry is; the benchmarking range is refused.
@Suite struct DestinationPolicyFormsTests {
    @Test func ipv6FormsOfRefusedIPv4AddressesAreRefused() throws {
        let policy = DestinationPolicy(allowed: [])
        for refused in ["::127.0.0.1", "::10.1.2.3", "::169.254.169.254", "::ffff:127.0.0.1", "::ffff:0:127.0.0.1",
                        "2002:7f00:1::", "2002:7f00:1:1234::5", "2002:a9fe:a9fe::", "2002:c0a8:0101::1", "2002:0a00:0001::",
                        "2002:c612:0001::", "2002:e000:0001::",
                        "198.18.0.1", "198.19.255.255", "::198.18.0.1", "2002:c613:0101::"] {
            let reason = policy.refusal(try #require(IPAddress.parse(refused)))
            #expect(reason != nil, "\(refused)")
        }
        for allowed in ["8.8.8.8", "198.17.255.255", "198.20.0.1", "::8.8.8.8", "::ffff:8.8.8.8", "2002:0808:0808::1",
                        "2606:4700:4700::1111"] {
            #expect(policy.refusal(try #require(IPAddress.parse(allowed))) == nil, "\(allowed)")
        }
    }

    /// The reason names the embedded address, so an admin knows which network to allow.
    @Test func theReasonNamesTheEmbeddedAddress() throws {
        let address = try #require(IPAddress.parse("2002:7f00:1::"))
        let reason = try #require(DestinationPolicy(allowed: []).refusal(address))
        #expect(reason.contains("127.0.0.1") && reason.contains("loopback"), "\(reason)")
    }

    /// Allowing the IPv4 network allows its embedded forms too (as it already did for mapped ones).
    @Test func allowingTheIPv4NetworkAllowsItsForms() throws {
        let loopback = DestinationPolicy(allowed: [try CIDR("127.0.0.0/8")])
        for form in ["127.0.0.1", "::ffff:127.0.0.1", "::127.0.0.1", "2002:7f00:1::"] {
            #expect(loopback.refusal(try #require(IPAddress.parse(form))) == nil, "\(form)")
        }
        #expect(loopback.refusal(try #require(IPAddress.parse("2002:a9fe:a9fe::"))) != nil)
    }

    /// The literal forms from the security report are refused when subscribing.
    @Test func literalFormsAreRefusedWhenSubscribing() async throws {
        for url in ["http://[::127.0.0.1]/hook", "http://[2002:7f00:1::]/hook", "http://198.18.0.1/hook", "http://[::ffff:7f00:1]/hook"] {
            await #expect(throws: VesselError.self, "\(url)") { try await DestinationPolicy(allowed: []).check(url) }
        }
    }
}
