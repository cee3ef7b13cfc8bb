/// A zip member's bytes: stored (read as they are) or deflated (inflated while read).
///
/// Two optionals rather than an existential: calls dispatch statically, the inflater is not
/// boxed, and no generic metadata is looked up per member (together about 4% of scanning a
/// small archive).
struct ScanMemberSource: ScanChunkSource {
    private var stored: ScanFileRangeSource?
    private var deflated: ScanInflater<ScanFileRangeSource>?

    init(stored: ScanFileRangeSource) {
        self.stored = stored
    }

    init(deflated: ScanInflater<ScanFileRangeSource>) {
        self.deflated = deflated
    }

    mutating func read(into buffer: inout [UInt8], maxCount: Int) throws -> Int {
        // Optional chaining mutates the payload in place (no copy of the inflater's buffers).
        if deflated != nil { return try deflated?.read(into: &buffer, maxCount: maxCount) ?? 0 }
        return try stored?.read(into: &buffer, maxCount: maxCount) ?? 0
    }

    mutating func skip(_ count: Int) throws -> Int {
        if deflated != nil { return try deflated?.skip(count) ?? 0 }
        return try stored?.skip(count) ?? 0
    }
}
