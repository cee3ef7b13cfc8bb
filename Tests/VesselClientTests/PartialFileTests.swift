import struct Crypto.SHA256
import Foundation
import Testing
@testable import VesselClient

/// The partial file's reads and resets, which the two download strategies resume from.
@Suite struct PartialFileTests {
    @Test func itIsCreatedEmptyAndHashesAnyRangeOfItsBytes() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let path = "\(dir.path)/b.partial"
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        do {
            let file = try PartialFile(opening: path)
            defer { file.close() }
            #expect(file.length == 0)
        }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let file = try PartialFile(opening: path)
        defer { file.close() }
        #expect(file.length == UInt64(bytes.count))
        var hasher = SHA256()
        #expect(try file.hash(1000..<50_000, into: &hasher) == 50_000)
        #expect(hasher.finalize() == SHA256.hash(data: bytes[1000..<50_000]))
        // Past the end it stops short, where the bytes do.
        var tail = SHA256()
        #expect(try file.hash(90_000..<200_000, into: &tail) == UInt64(bytes.count))
        #expect(tail.finalize() == SHA256.hash(data: bytes[90_000...]))
        file.truncate()
        #expect(file.length == 0)
    }

    @Test func aFolderThatIsGoneIsAnError() {
        #expect(throws: (any Error).self) { try PartialFile(opening: "/nonexistent-vessel-dir/b.partial") }
    }
}
