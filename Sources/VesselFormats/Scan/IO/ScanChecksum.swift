import CVesselZlib

/// CRC-32 (the zip checksum) via zlib.
enum ScanChecksum {
    static func crc32(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        var value = UInt(crc)
        var rest = bytes.count
        var pointer = base.assumingMemoryBound(to: UInt8.self)
        while rest > 0 {
            let step = min(rest, 1 << 30)
            value = CVesselZlib.crc32(value, pointer, UInt32(step))
            pointer += step
            rest -= step
        }
        return UInt32(truncatingIfNeeded: value)
    }
}
