/// Type erasure for chunk sources, so one reader type serves stored and deflated members.
/// Dispatch is per chunk (hundreds of KiB), not per byte.
struct ScanAnySource: ScanChunkSource {
    private var base: any ScanChunkSource

    init(_ base: any ScanChunkSource) {
        self.base = base
    }

    mutating func read(into buffer: inout [UInt8], maxCount: Int) throws -> Int {
        try base.read(into: &buffer, maxCount: maxCount)
    }

    mutating func skip(_ count: Int) throws -> Int {
        try base.skip(count)
    }
}
