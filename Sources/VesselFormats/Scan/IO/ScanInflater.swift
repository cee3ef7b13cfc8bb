import CVesselZlib

/// zlib's streaming inflate as a `ScanChunkSource`, with decompression-bomb limits enforced
/// while inflating (not trusted from headers).
///
/// Formats: raw deflate (zip members) or zlib/gzip auto-detected (joblib). With `concatenated`
/// a stream that ends while input remains starts over, as Python's zlib/gzip readers do.
struct ScanInflater<Inner: ScanChunkSource>: ScanChunkSource {
    enum Wrapping {
        case rawDeflate
        case zlibOrGzip
    }

    struct Limits {
        /// Output beyond this is a `decompression-bomb`.
        var maxOutput: UInt64
        /// Output/input beyond this (after `grace` bytes of output) is a `decompression-bomb`.
        var maxRatio: UInt64?
        var grace: UInt64
        /// The size the container declared; inflating past it is a `decompression-bomb`.
        var declaredSize: UInt64?
    }

    private final class Stream {
        var z = z_stream()
        var ready = false

        init(windowBits: Int32) throws {
            let status = inflateInit2_(&z, windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else { throw ScanProblem.malformed("zlib could not start (\(status))") }
            ready = true
        }

        deinit {
            if ready { inflateEnd(&z) }
        }
    }

    private var inner: Inner
    private let stream: Stream
    private let limits: Limits
    private let concatenated: Bool
    private var input: [UInt8] = []
    /// Reused output scratch: inflated bytes are copied out, never zero-filled (only the bytes
    /// zlib reports as produced are ever read, and a 64 KiB memset per member was a visible
    /// share of scanning small archives).
    private var output: [UInt8] = []
    private static var outputChunk: Int { 1 << 16 }
    private var inputPosition = 0
    private var innerDone = false
    private var finished = false
    private(set) var totalIn: UInt64 = 0
    private(set) var totalOut: UInt64 = 0
    /// True once the deflate stream reached its end marker.
    var reachedStreamEnd: Bool { finished }

    init(inner: Inner, wrapping: Wrapping, limits: Limits, concatenated: Bool = false) throws {
        self.inner = inner
        self.limits = limits
        self.concatenated = concatenated
        stream = try Stream(windowBits: wrapping == .rawDeflate ? -15 : 47)
    }

    private mutating func refillInput() throws {
        if inputPosition >= input.count {
            input.removeAll(keepingCapacity: true)
            inputPosition = 0
            if !innerDone {
                let got = try inner.read(into: &input, maxCount: 1 << 16)
                if got == 0 { innerDone = true }
            }
        }
    }

    mutating func read(into buffer: inout [UInt8], maxCount: Int) throws -> Int {
        guard maxCount > 0 else { return 0 }
        while !finished {
            try refillInput()
            let haveInput = inputPosition < input.count
            if !haveInput && innerDone {
                throw ScanProblem.truncated("compressed stream ends early", at: Int(clamping: totalOut))
            }
            let outputCount = min(maxCount, Self.outputChunk)
            if output.count < outputCount {
                output = [UInt8](unsafeUninitializedCapacity: outputCount) { _, count in count = outputCount }
            }
            let inputBefore = input.count - inputPosition
            let (status, produced, consumed) = inflateStep(count: outputCount, inputBefore: inputBefore)
            buffer.append(contentsOf: output[0..<produced])
            inputPosition += consumed
            totalIn += UInt64(consumed)
            totalOut += UInt64(produced)
            try checkLimits()
            switch status {
            case Z_STREAM_END:
                try refillInput()
                if concatenated && inputPosition < input.count {
                    inflateReset(&stream.z)
                } else {
                    finished = true
                }
            case Z_OK, Z_BUF_ERROR:
                if status == Z_BUF_ERROR && produced == 0 && consumed == 0 && innerDone && inputPosition >= input.count {
                    throw ScanProblem.truncated("compressed stream ends early", at: Int(clamping: totalOut))
                }
            case Z_NEED_DICT:
                throw ScanProblem.malformed("compressed stream needs a preset dictionary")
            default:
                throw ScanProblem.malformed("corrupt compressed data (zlib \(status))", at: Int(clamping: totalOut))
            }
            if produced > 0 { return produced }
        }
        return 0
    }

    private mutating func inflateStep(count: Int, inputBefore: Int) -> (Int32, Int, Int) {
        let stream = self.stream
        let position = inputPosition
        return input.withUnsafeMutableBytes { inRaw in
            output.withUnsafeMutableBytes { outRaw in
                guard let outBase = outRaw.baseAddress else { return (Z_BUF_ERROR, 0, 0) }
                if let inBase = inRaw.baseAddress, inputBefore > 0 {
                    stream.z.next_in = (inBase + position).assumingMemoryBound(to: Bytef.self)
                } else {
                    stream.z.next_in = nil
                }
                stream.z.avail_in = UInt32(min(inputBefore, Int(UInt32.max)))
                stream.z.next_out = outBase.assumingMemoryBound(to: Bytef.self)
                stream.z.avail_out = UInt32(min(count, Int(UInt32.max)))
                let availIn = stream.z.avail_in
                let availOut = stream.z.avail_out
                let status = inflate(&stream.z, Z_NO_FLUSH)
                let produced = Int(availOut - stream.z.avail_out)
                let consumed = Int(availIn - stream.z.avail_in)
                stream.z.next_in = nil
                stream.z.next_out = nil
                return (status, produced, consumed)
            }
        }
    }

    private func checkLimits() throws {
        if let declared = limits.declaredSize, totalOut > declared {
            throw ScanProblem.bomb("inflates past its declared size of \(declared) bytes", at: Int(clamping: declared))
        }
        if totalOut > limits.maxOutput {
            throw ScanProblem.bomb("inflates past the limit of \(limits.maxOutput) bytes", at: Int(clamping: limits.maxOutput))
        }
        if let ratio = limits.maxRatio, totalOut > limits.grace {
            let (bound, overflow) = max(totalIn, 1).multipliedReportingOverflow(by: ratio)
            if !overflow && totalOut > bound {
                throw ScanProblem.bomb("inflate ratio above \(ratio):1", at: Int(clamping: totalOut))
            }
        }
    }
}
