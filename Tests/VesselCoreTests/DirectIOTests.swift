import Foundation
import Testing
@testable import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// Direct I/O keeps every byte where an ordinary write would put it: unaligned starts, odd
/// write sizes, tails, and reads of any range, with and without a direct descriptor.
@Suite struct DirectIOTests {
    static func bytes(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ Int(seed) &+ $0 >> 12) }
    }

    /// A fresh file in the temporary directory, its ordinary descriptor and a direct one
    /// (nil when `direct` is false or the file system refuses it).
    static func withFile(direct: Bool, _ body: (String, Int32, Int32?) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-direct-\(UUID().uuidString)").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        let directFD = direct ? DirectIO.open(path, flags: O_RDWR) : nil
        defer {
            close(fd)
            if let directFD { close(directFD) }
            unlink(path)
        }
        try body(path, fd, directFD)
    }

    @Test(arguments: [true, false])
    func stagedWritesLandWhereOrdinaryWritesWould(direct: Bool) throws {
        try Self.withFile(direct: direct) { path, fd, directFD in
            if direct && DirectIO.enabled {
                // /tmp here is ext4; without a direct descriptor this test would prove nothing new.
                #expect(directFD != nil, "the temporary directory refuses O_DIRECT")
            }
            // Three streams: an aligned start, an unaligned start right after it, and a tail.
            let first = Self.bytes(3 << 20 | 517, seed: 1)
            let second = Self.bytes(1_234_567, seed: 2)
            let third = Self.bytes(4095, seed: 3)
            var expected = [UInt8]()
            var offset: UInt64 = 0
            for (stream, pieces) in [(first, [1, 70_000, 1 << 20, 3, 2_000_000]), (second, [4096, 100, 1_000_000]), (third, [5])] {
                let writer = DirectFileWriter(fd: fd, direct: directFD, at: offset, capacity: 256 << 10)
                var at = 0
                var index = 0
                while at < stream.count {
                    let take = min(pieces[index % pieces.count], stream.count - at)
                    // A write that does not write through only stages (the server does those
                    // on the request's own thread): nothing reaches the file.
                    let through = writer.writesThrough(take), before = writer.written
                    try stream[at..<at + take].withUnsafeBytes { try writer.write($0) }
                    if !through { #expect(writer.written == before) }
                    at += take
                    index += 1
                    #expect(writer.position == offset + UInt64(at))
                }
                try writer.flush()
                #expect(writer.written == offset + UInt64(stream.count))
                expected += stream
                offset += UInt64(stream.count)
            }
            let onDisk = try #require(FileManager.default.contents(atPath: path))
            #expect(onDisk.count == expected.count)
            #expect(onDisk == Data(expected))
        }
    }

    @Test(arguments: [true, false])
    func readsOfAnyRangeMatchTheFile(direct: Bool) throws {
        try Self.withFile(direct: direct) { _, fd, directFD in
            let content = Self.bytes(5 << 20 | 123, seed: 9)
            content.withUnsafeBytes { _ = pwrite(fd, $0.baseAddress, $0.count, 0) }
            let scratch = DirectIO.allocate(1 << 20)
            defer { scratch.deallocate() }
            let size = UInt64(content.count)
            let ranges: [Range<UInt64>] = [0..<size, 1..<4097, 4095..<4096, 1 << 20..<(3 << 20) + 7, size - 5..<size, 12_345..<size, size..<size]
            for range in ranges {
                var got = [UInt8]()
                let end = try DirectIO.read(fd: fd, direct: directFD, range: range, scratch: scratch) { got += $0 }
                #expect(end == range.upperBound)
                #expect(Data(got) == Data(content[Int(range.lowerBound)..<Int(range.upperBound)]), "range \(range)")
            }
            // Past the end of the file: stops short, and says where.
            var got = [UInt8]()
            let end = try DirectIO.read(fd: fd, direct: directFD, range: size - 10..<size + 100_000, scratch: scratch) { got += $0 }
            #expect(end == size)
            #expect(Data(got) == Data(content.suffix(10)))
        }
    }
}
