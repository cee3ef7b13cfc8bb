import Foundation
import Testing
@testable import VesselCore

@Suite struct RandomIDTests {
    @Test func uuidsAreLowercaseVersion7InTheUsualForm() throws {
        var seen = Set<String>()
        let before = UInt64(Date().timeIntervalSince1970 * 1000)
        for _ in 0..<1000 {
            let text = RandomID.uuid()
            let uuid = try #require(UUID(uuidString: text), "\(text)")
            #expect(uuid.uuidString.lowercased() == text)
            #expect(uuid.uuid.6 >> 4 == 7, "version nibble of \(text)")
            #expect(uuid.uuid.8 >> 6 == 0b10, "variant bits of \(text)")
            let millis = withUnsafeBytes(of: uuid.uuid) { raw in raw.prefix(6).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
            #expect(millis >= before && millis <= UInt64(Date().timeIntervalSince1970 * 1000) + 1, "timestamp of \(text)")
            seen.insert(text)
        }
        #expect(seen.count == 1000)
    }

    @Test func idsMadeLaterSortAfter() {
        let earlier = Hex.encode(RandomID.bytes(millis: 1_700_000_000_000))
        let later = Hex.encode(RandomID.bytes(millis: 1_700_000_000_001))
        #expect(earlier < later)
        #expect(earlier.hasPrefix("018bcfe56800"))
    }

    @Test func hex128IsThirtyTwoLowercaseHexDigits() {
        let values = (0..<1000).map { _ in RandomID.hex128() }
        #expect(values.allSatisfy { $0.utf8.count == 32 && Hex.decodeLowercase($0, byteCount: 16) != nil })
        #expect(Set(values).count == 1000)
    }
}
