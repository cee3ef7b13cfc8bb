import Foundation
import Testing
@testable import VesselClient

/// How a parted download cuts what it lacks into ranged requests, and what its connections share.
@Suite struct PartPlanTests {
    @Test func aFreshBlobIsCutIntoPartsWithAShortLastOne() {
        #expect(Parts.plan(received: [], size: 10, partSize: 4) == [0..<4, 4..<8, 8..<10])
        #expect(Parts.plan(received: [], size: 8, partSize: 4) == [0..<4, 4..<8])
        #expect(Parts.plan(received: [], size: 3, partSize: 4) == [0..<3])
    }

    @Test func onlyTheGapsAreAskedForAndNoPartCrossesReceivedBytes() {
        let plan = Parts.plan(received: [0..<5, 9..<12], size: 20, partSize: 4)
        #expect(plan == [5..<9, 12..<16, 16..<20])
        // A gap shorter than a part is one request, not padded to a part's length.
        #expect(Parts.plan(received: [0..<5, 6..<20], size: 20, partSize: 4) == [5..<6])
    }

    @Test func aCompleteOrEmptyBlobNeedsNothing() {
        #expect(Parts.plan(received: [0..<20], size: 20, partSize: 4).isEmpty)
        #expect(Parts.plan(received: [], size: 0, partSize: 4).isEmpty)
    }

    static let sizes: [(partSize: UInt64, size: UInt64)] = [(1, 7), (3, 100), (32 << 20, (32 << 20) * 3 + 1), (5, 5)]

    @Test(arguments: sizes)
    func thePlanCoversExactlyTheMissingBytes(partSize: UInt64, size: UInt64) {
        let received: [Range<UInt64>] = size > 4 ? [1..<2, (size - 2)..<(size - 1)] : []
        let plan = Parts.plan(received: received, size: size, partSize: partSize)
        var covered = received
        for part in plan {
            #expect(!part.isEmpty && UInt64(part.count) <= partSize)
            #expect(!covered.contains { $0.overlaps(part) }, "\(part) was asked for twice")
            covered = PartJournal.merge(covered, part)
        }
        #expect(covered == [0..<size])
        #expect(plan == plan.sorted { $0.lowerBound < $1.lowerBound }, "parts go in file order")
    }

    @Test func connectionsTakeThePartsInOrderAndThePrefixGrowsAsTheyArrive() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let journal = PartJournal(path: "\(dir.path)/b.parts")
        let parts = Parts(received: [], queue: [0..<4, 4..<8, 8..<10])
        #expect(parts.next() == 0..<4)
        #expect(parts.next() == 4..<8)
        // The second part lands first: nothing can be hashed yet.
        parts.record(4..<8, in: journal)
        #expect(parts.prefixEnd == 0)
        parts.record(0..<4, in: journal)
        #expect(parts.prefixEnd == 8)
        #expect(journal.read(size: 10) == [0..<8])
        #expect(parts.next() == 8..<10)
        #expect(parts.next() == nil)
    }

    @Test func rangeHeadersNameTheLastByte() {
        #expect(Downloader.rangeHeader(0..<10) == "bytes=0-9")
        #expect(Downloader.rangeHeader(100..<101) == "bytes=100-100")
    }

    @Test func redirectsToStorageAreTheThreeHundredsThatMove() {
        #expect(Downloader.redirectStatuses == [301, 302, 303, 307, 308])
        #expect(!Downloader.redirectStatuses.contains(304), "not modified is not a redirect")
    }
}
