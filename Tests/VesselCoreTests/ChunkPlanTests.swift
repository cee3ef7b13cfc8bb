import Testing
import VesselCore

@Suite struct ChunkPlanTests {
    let mib: UInt64 = 1 << 20

    @Test func sixtyFourMiBChunksUpTo640GB() throws {
        let plan = try ChunkPlan(size: 200 * mib + 5)
        #expect(plan.chunkSize == 64 * mib)
        #expect(plan.chunks == 4)
        #expect(try plan.range(of: 3) == (192 * mib)..<(200 * mib + 5))
        let edge = try ChunkPlan(size: 64 * mib * 10_000)
        #expect(edge.chunkSize == 64 * mib && edge.chunks == 10_000)
    }

    @Test func largerBlobsGetLargerChunksWithinTenThousandParts() throws {
        let size = 64 * mib * 10_000 + 1
        let plan = try ChunkPlan(size: size)
        #expect(plan.chunkSize == 65 * mib)
        #expect(plan.chunks <= 10_000)
        let huge = try ChunkPlan(size: ChunkPlan.maximumPartSize * 10_000)
        #expect(huge.chunkSize == ChunkPlan.maximumPartSize && huge.chunks == 10_000)
        #expect(throws: VesselError.self) { try ChunkPlan(size: ChunkPlan.maximumPartSize * 10_000 + 1) }
    }

    @Test func aSmallerPreferenceIsForTestsAndStillFitsTheLimit() throws {
        let plan = try ChunkPlan(size: 64 * mib, preferred: mib)
        #expect(plan.chunkSize == mib && plan.chunks == 64)
        let big = try ChunkPlan(size: 20_000 * mib, preferred: mib)
        #expect(big.chunkSize == 2 * mib && big.chunks == 10_000)
    }

    @Test func emptyBlobsHaveNoChunksAndIndicesAreChecked() throws {
        let empty = try ChunkPlan(size: 0)
        #expect(empty.chunks == 0)
        let plan = try ChunkPlan(size: 10, preferred: 4)
        #expect(plan.chunks == 3)
        #expect(try plan.range(of: 2) == 8..<10)
        #expect(throws: VesselError.self) { try plan.range(of: 3) }
        #expect(throws: VesselError.self) { try plan.range(of: -1) }
    }

    @Test func sizesParse() throws {
        #expect(try ChunkPlan.parseSize("1MiB") == mib)
        #expect(try ChunkPlan.parseSize("64MiB") == 64 * mib)
        #expect(try ChunkPlan.parseSize("5GiB") == 5 << 30)
        #expect(try ChunkPlan.parseSize("512KiB") == 512 << 10)
        #expect(try ChunkPlan.parseSize("1000") == 1000)
        for bad in ["", "MiB", "1.5MiB", "-1MiB", "1TB", "99999999999999999999GiB"] {
            #expect(throws: VesselError.self, "\(bad)") { try ChunkPlan.parseSize(bad) }
        }
    }
}
