import Foundation
import Testing
import VesselCore

@Suite struct RandomIDTests {
    @Test func uuidsAreLowercaseVersion4InTheUsualForm() throws {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let text = RandomID.uuid()
            let uuid = try #require(UUID(uuidString: text), "\(text)")
            #expect(uuid.uuidString.lowercased() == text)
            #expect(uuid.uuid.6 >> 4 == 4, "version nibble of \(text)")
            #expect(uuid.uuid.8 >> 6 == 0b10, "variant bits of \(text)")
            seen.insert(text)
        }
        #expect(seen.count == 1000)
    }

    @Test func hex128IsThirtyTwoLowercaseHexDigits() {
        let values = (0..<1000).map { _ in RandomID.hex128() }
        #expect(values.allSatisfy { $0.utf8.count == 32 && Hex.decodeLowercase($0, byteCount: 16) != nil })
        #expect(Set(values).count == 1000)
    }
}
