import Foundation
import Testing
@testable import VesselFormats

/// Bounded randomized mutation testing: ≥ 100,000 mutated inputs derived from the committed
/// seed files, with a fixed SafetensorsSplitMix64 seed so every run checks the same inputs. The parser
/// must return a header or an error for each — never trap or hang — and every accepted
/// header must satisfy the format's invariants.
@Suite struct SafetensorsMutationTests {
    static let iterations = 100_000
    static let interesting: [UInt8] = Array("{}[]\":,0123456789-.eE\\u ".utf8) + [0x00, 0x7F, 0x80, 0xC3, 0xFF]

    static func seeds() throws -> [[UInt8]] {
        let directory = SafetensorsTestFile.fixturesDirectory() + "/seeds"
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".safetensors") }.sorted()
        var seeds = try names.map { try SafetensorsTestFile.fixture("seeds/" + $0) }
        // Handcrafted seeds for paths the Python files do not reach.
        seeds.append(SafetensorsTestFile.make("{\"__metadata__\":{\"k\":\"v\\u00e9\\ud83d\\ude00\"},\(SafetensorsTestFile.entry("z", "U8", [0], 0, 0)),\(SafetensorsTestFile.entry("a", "F6_E3M2", [4], 0, 3))}  ", data: [1, 2, 3]))
        return seeds
    }

    static func mutate(_ input: [UInt8], _ rng: inout SafetensorsSplitMix64) -> [UInt8] {
        var bytes = input
        let rounds = Int(rng.next() % 3) + 1
        for _ in 0..<rounds {
            switch rng.next() % 7 {
            case 0 where !bytes.isEmpty:  // bit flip
                let index = Int(rng.next() % UInt64(bytes.count))
                bytes[index] ^= UInt8(1) << UInt8(rng.next() % 8)
            case 1:  // insert a byte, often a JSON-significant one
                let index = Int(rng.next() % UInt64(bytes.count + 1))
                let byte = rng.next() % 2 == 0 ? interesting[Int(rng.next() % UInt64(interesting.count))] : UInt8(truncatingIfNeeded: rng.next())
                bytes.insert(byte, at: index)
            case 2 where !bytes.isEmpty:  // delete a byte
                bytes.remove(at: Int(rng.next() % UInt64(bytes.count)))
            case 3 where bytes.count >= 8:  // edit the length prefix
                var length = SafetensorsTestFile.prefix(0).indices.reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
                switch rng.next() % 4 {
                case 0: length = length &+ (rng.next() % 17) &- 8
                case 1: length = rng.next()
                case 2: length = UInt64(bytes.count) &- (rng.next() % 16)
                default: length = [0, 1, UInt64.max, UInt64.max - 7, 100_000_000, 100_000_001][Int(rng.next() % 6)]
                }
                bytes.replaceSubrange(0..<8, with: SafetensorsTestFile.prefix(length))
            case 4 where !bytes.isEmpty:  // truncate
                bytes.removeLast(Int(rng.next() % UInt64(bytes.count)) + 1)
            case 5 where bytes.count > 2:  // overwrite a byte with a JSON-significant one
                bytes[Int(rng.next() % UInt64(bytes.count))] = interesting[Int(rng.next() % UInt64(interesting.count))]
            default:  // duplicate a slice
                guard bytes.count > 1 else { continue }
                let start = Int(rng.next() % UInt64(bytes.count))
                let end = min(bytes.count, start + Int(rng.next() % 32) + 1)
                bytes.insert(contentsOf: bytes[start..<end], at: Int(rng.next() % UInt64(bytes.count)))
            }
        }
        return bytes
    }

    /// When the fast path accepts a header, the strict parser must accept it too and
    /// produce the same value. Returns whether the fast path accepted.
    static func checkFastPathAgreesWithStrict(_ input: [UInt8]) -> Bool {
        input.withUnsafeBytes { raw -> Bool in
            guard raw.count >= 8,
                let length = try? SafetensorsHeader.checkedHeaderLength(prefix: UnsafeRawBufferPointer(rebasing: raw[0..<8]), fileSize: UInt64(raw.count))
            else { return false }
            let body = UnsafeRawBufferPointer(rebasing: raw[8..<(8 + Int(length))])
            let dataLength = UInt64(raw.count) - 8 - length
            guard let fast = SafetensorsHeaderFastPath.parse(body, headerLength: length, dataLength: dataLength) else { return false }
            let strict = Result { () throws(SafetensorsError) in
                try SafetensorsHeader.parseBodyStrict(body, headerLength: length, dataLength: dataLength)
            }
            #expect(strict == .success(fast))
            return true
        }
    }

    @Test func fastPathHandlesPlainHeadersAndLeavesEscapesToStrictParser() throws {
        #expect(Self.checkFastPathAgreesWithStrict(try SafetensorsTestFile.fixture("seeds/seed-mixed.safetensors")))
        #expect(Self.checkFastPathAgreesWithStrict(try SafetensorsTestFile.fixture("seeds/seed-empty.safetensors")))
        // Escaped names are decoded by the strict parser only.
        #expect(!Self.checkFastPathAgreesWithStrict(try SafetensorsTestFile.fixture("seeds/seed-unicode.safetensors")))
    }

    @Test func fastPathFieldWordsSpellTheFieldNames() {
        // Eight bytes of text as a little-endian word, the way `loadUnaligned` reads them.
        func word(_ text: String) -> UInt64 {
            #expect(text.utf8.count == 8)
            return text.utf8.reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
        #expect(SafetensorsHeaderFastPath.dtypeWord == word("\"dtype\":"))
        #expect(SafetensorsHeaderFastPath.shapeWord == word("\"shape\":"))
        #expect(SafetensorsHeaderFastPath.offsetsHead == word("\"data_of"))
        #expect(SafetensorsHeaderFastPath.offsetsTail == word("ffsets\":"))
    }

    @Test func mutatedInputsNeverTrap() throws {
        let seeds = try Self.seeds()
        var rng = SafetensorsSplitMix64(seed: 0x5AFE_7E45_0125_2026)
        var accepted = 0
        var fastAccepted = 0
        var codes: [String: Int] = [:]
        for _ in 0..<Self.iterations {
            let input = Self.mutate(seeds[Int(rng.next() % UInt64(seeds.count))], &rng)
            if Self.checkFastPathAgreesWithStrict(input) { fastAccepted += 1 }
            do {
                let header = try SafetensorsHeader.parse(fileBytes: input)
                accepted += 1
                #expect(header.fileSize == UInt64(input.count))
                #expect(header.tensors.reduce(UInt64(0)) { $0 + $1.byteCount } == header.dataLength)
            } catch {
                codes[error.code, default: 0] += 1
                #expect(!error.message.isEmpty)
            }
        }
        // The mutations must exercise more than the framing checks.
        #expect(accepted > 0)
        #expect(fastAccepted > 0 && fastAccepted <= accepted)
        #expect(codes.count >= 12, "codes seen: \(codes.keys.sorted())")
    }
}
