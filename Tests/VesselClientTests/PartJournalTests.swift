import Foundation
import Testing
@testable import VesselClient

/// The journal of a parted download: what a restarted pull believes already reached the
/// partial file, so what it does not fetch again.
@Suite struct PartJournalTests {
    @Test func mergesRangesAndFindsGaps() {
        var ranges: [Range<UInt64>] = []
        for range: Range<UInt64> in [10..<20, 30..<40, 20..<25, 0..<5, 38..<50] { ranges = PartJournal.merge(ranges, range) }
        #expect(ranges == [0..<5, 10..<25, 30..<50])
        #expect(PartJournal.gaps(in: ranges, size: 60) == [5..<10, 25..<30, 50..<60])
        #expect(PartJournal.prefixEnd(of: ranges) == 5)
        #expect(PartJournal.prefixEnd(of: [3..<9]) == 0)
        #expect(PartJournal.prefixEnd(of: []) == 0)
        #expect(PartJournal.gaps(in: [], size: 4) == [0..<4])
        #expect(PartJournal.gaps(in: [0..<4], size: 4) == [], "a complete blob has no gaps")
    }

    @Test func aRangeThatBridgesSeveralMergesThemAll() {
        let merged = PartJournal.merge([0..<2, 4..<6, 8..<10, 20..<30], 1..<9)
        #expect(merged == [0..<10, 20..<30])
        // Touching ranges merge; a one-byte hole stays.
        #expect(PartJournal.merge([0..<5], 5..<7) == [0..<7])
        #expect(PartJournal.merge([0..<5], 6..<7) == [0..<5, 6..<7])
    }

    @Test func whatIsRecordedIsReadBackByTheNextProcess() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let path = "\(dir.path)/blob.partial.parts"
        #expect(!PartJournal(path: path).exists)
        #expect(PartJournal(path: path).read(size: 100) == nil, "no journal: nothing is vouched for")
        try PartJournal(path: path).write([0..<10, 40..<60])
        // A restarted pull builds its own journal value on the same file.
        let reloaded = PartJournal(path: path)
        #expect(reloaded.exists)
        #expect(reloaded.read(size: 100) == [0..<10, 40..<60])
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "0 10\n40 60\n")
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"), "the temporary file was renamed into place")
        reloaded.remove()
        #expect(!reloaded.exists)
    }

    @Test func linesWrittenOutOfOrderOrOverlappingAreMergedOnRead() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let path = try dir.write("b.parts", Array("50 60\n0 10\n5 20\n".utf8))
        #expect(PartJournal(path: path).read(size: 60) == [0..<20, 50..<60])
    }

    @Test func anEmptyJournalVouchesForNoBytes() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let path = try dir.write("b.parts", [])
        #expect(PartJournal(path: path).read(size: 10) == [])
    }

    /// A journal cut mid-write, edited, or left by a blob of another size describes nothing:
    /// `read` returns nil and the download starts over rather than trust a file with holes.
    @Test(arguments: [
        "0 10\nnot a range\n",  // a line that is not two numbers
        "0 10\n20\n",           // one field
        "0 10 20\n",            // three fields
        "10 10\n",              // an empty range
        "20 10\n",              // backwards
        "0 101\n",              // past the end of a 100-byte blob
        "0 9999999999\n",       // from a larger blob
        "-1 10\n",              // not unsigned
        "0 1844674407370955161600\n",  // does not fit 64 bits
    ])
    func aJournalThatDoesNotDescribeTheBlobIsRefused(_ text: String) throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let path = try dir.write("b.parts", Array(text.utf8))
        #expect(PartJournal(path: path).read(size: 100) == nil)
    }

    @Test func aJournalInAFolderThatIsGoneCannotBeWritten() {
        #expect(throws: (any Error).self) { try PartJournal(path: "/nonexistent-vessel-dir/b.parts").write([0..<1]) }
    }

    /// CI once saw a cut parted download fetch 424 KB twice: connections that finished
    /// together rewrote the journal at once and the newest list was lost.
    @Test func rangesRecordedByConnectionsAtOnceAllReachTheJournal() async throws {
        let dir = try Scratch("journal")
        defer { dir.remove() }
        let journal = PartJournal(path: "\(dir.path)/blob.partial.parts")
        let parts = Parts(received: [], queue: [])
        // Every other 10-byte range, so no two merge and each must be listed on its own.
        let count = 400
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask { parts.record(UInt64(index * 20)..<UInt64(index * 20 + 10), in: journal) }
            }
        }
        let recorded = try #require(journal.read(size: UInt64(count * 20)))
        #expect(recorded.count == count)
        #expect(recorded.reduce(0) { $0 + $1.count } == count * 10)
    }
}
