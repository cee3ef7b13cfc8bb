import Foundation
import Testing
@testable import VesselFormats

/// Header reads through positional byte sources and `pread`.
@Suite struct SafetensorsReadTests {
    /// Records every read so tests can check what was asked for.
    final class Source: @unchecked Sendable {
        let bytes: [UInt8]
        var reads: [(UInt64, Int)] = []
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        func read(_ offset: UInt64, _ count: Int) -> [UInt8] {
            reads.append((offset, count))
            let start = Int(min(offset, UInt64(bytes.count)))
            return Array(bytes[start..<min(bytes.count, start + count)])
        }
    }

    @Test func readsPrefixThenHeaderOnly() throws {
        let file = try SafetensorsTestFile.fixture("seeds/seed-mixed.safetensors")
        let source = Source(file)
        let header = try SafetensorsHeader.read(fileSize: UInt64(file.count)) { source.read($0, $1) }
        #expect(header.tensors.count == 5)
        #expect(source.reads.count == 2)
        #expect(source.reads[0] == (0, 8))
        #expect(source.reads[1].0 == 8 && UInt64(source.reads[1].1) == header.headerLength)
    }

    @Test func hugeDeclaredLengthIsNeverRequested() {
        let source = Source(SafetensorsTestFile.prefix(UInt64.max) + [0x7B])
        #expect(throws: SafetensorsError.headerTooLarge(declared: UInt64.max)) {
            try SafetensorsHeader.read(fileSize: 9) { source.read($0, $1) }
        }
        #expect(source.reads.count == 1)
        let beyond = Source(SafetensorsTestFile.prefix(50))
        #expect(throws: SafetensorsError.headerLengthExceedsFile(declared: 50, fileSize: 20)) {
            try SafetensorsHeader.read(fileSize: 20) { beyond.read($0, $1) }
        }
        #expect(beyond.reads.count == 1)
    }

    @Test func tinyFileIsNotRead() {
        let source = Source([1, 2, 3])
        #expect(throws: SafetensorsError.fileTooShort(fileSize: 3)) {
            try SafetensorsHeader.read(fileSize: 3) { source.read($0, $1) }
        }
        #expect(source.reads.isEmpty)
    }

    @Test func shortReadAndThrowingSourceBecomeIOErrors() {
        struct Boom: Error {}
        #expect { try SafetensorsHeader.read(fileSize: 100) { _, _ in throw Boom() } } throws: { error in
            (error as? SafetensorsError)?.code == "io_error"
        }
        #expect { try SafetensorsHeader.read(fileSize: 100) { _, _ in [1, 2] } } throws: { error in
            (error as? SafetensorsError)?.code == "io_error"
        }
    }

    @Test func asyncReadMatchesSyncRead() async throws {
        let file = try SafetensorsTestFile.fixture("seeds/seed-unicode.safetensors")
        let header = try await SafetensorsHeader.read(fileSize: UInt64(file.count)) { (offset: UInt64, count: Int) async throws -> [UInt8] in
            await Task.yield()
            let start = Int(offset)
            return Array(file[start..<min(file.count, start + count)])
        }
        #expect(header == (try SafetensorsHeader.parse(fileBytes: file)))
    }

    @Test func asyncReadReportsValidationErrors() async {
        let file = SafetensorsTestFile.make("{} x")
        await #expect(throws: SafetensorsError.invalidPadding(offset: 3)) {
            try await SafetensorsHeader.read(fileSize: UInt64(file.count)) { (offset: UInt64, count: Int) async throws -> [UInt8] in
                Array(file[Int(offset)..<Int(offset) + count])
            }
        }
    }

    @Test func readFileUsesPread() throws {
        let directory = try SafetensorsTestFile.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/m.safetensors"
        let file = try SafetensorsTestFile.fixture("seeds/seed-mixed.safetensors")
        try Data(file).write(to: URL(fileURLWithPath: path))
        #expect(try SafetensorsHeader.readFile(atPath: path) == (try SafetensorsHeader.parse(fileBytes: file)))
    }

    @Test func readFileErrorsDoNotLeakPaths() {
        let path = "/nonexistent/secret-location/m.safetensors"
        do {
            _ = try SafetensorsHeader.readFile(atPath: path)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == "io_error")
            #expect(!error.message.contains("secret-location"))
        }
        #expect(throws: SafetensorsError.self) { try SafetensorsHeader.readFile(atPath: NSTemporaryDirectory()) }
    }
}
