/// Vessel's allowlist-based, fail-closed model-file scanner.
///
/// It never executes or imports anything: pickles are walked opcode by opcode, containers are
/// read structurally, and only the bytes needed to judge are read (a 2 GiB PyTorch zip costs
/// its central directory and `data.pkl`). Every file gets exactly one `ScanFileResult`; the
/// scanner does not throw and does not crash on hostile input.
///
/// Verdicts: `safe` only when every import is allowlisted and the structure is intact;
/// `unsafe` for any finding of the unsafe class; `invalid` when a file that claims a scanned
/// format is empty, truncated, corrupt, unsupported or unreadable. See `docs/scanning.md`.
public struct ModelScanner: Sendable {
    /// Judges a `.safetensors` file: `valid` false (with a reason) makes the file `invalid`.
    /// Supplied by the integrator (the safetensors parser lives elsewhere in VesselFormats).
    public typealias SafetensorsChecker = @Sendable (_ path: String) -> (valid: Bool, reason: String?)

    public let allowlist: ScanAllowlist
    public let limits: ScanLimits
    private let safetensorsChecker: SafetensorsChecker
    let streams: PickleStreamScanner
    /// Bytes read up front: format detection and most whole pickles need no second read, and
    /// files this small are read once, whole.
    static let prefetchLength = 64 << 10

    /// - Parameters:
    ///   - safetensorsChecker: validates `.safetensors` files (format `safetensors`).
    ///   - allowlist: the import and Keras policy; defaults to the reviewed allowlist.
    ///   - limits: resource limits; defaults to `ScanLimits.default`.
    public init(
        safetensorsChecker: @escaping SafetensorsChecker, allowlist: ScanAllowlist = .reviewed,
        limits: ScanLimits = .default
    ) {
        self.safetensorsChecker = safetensorsChecker
        self.allowlist = allowlist
        self.limits = limits
        let analyzer = PickleAnalyzer(judge: PickleImportJudge(allowlist: allowlist), limits: limits)
        streams = PickleStreamScanner(analyzer: analyzer, limits: limits)
    }

    /// Scans one regular file. A symlink or unreadable path yields an `invalid` result.
    public func scanFile(at path: String) -> ScanFileResult {
        scanFile(at: path, as: path)
    }

    /// Scans the file at `path` as if it were named `name`: the name's extension takes part in
    /// format detection and the result reports `name` (the registry scans content-addressed
    /// blobs, whose own file names carry no extension).
    public func scanFile(at path: String, as name: String) -> ScanFileResult {
        let file: ScanFile
        let head: [UInt8]
        do {
            file = try ScanFile(path: path, wholeFileLimit: Self.prefetchLength)
            head = try file.readExactly(count: min(file.size, Self.prefetchLength), at: 0)
        } catch {
            let problem = (error as? ScanProblem) ?? ScanProblem(kind: .unreadable, detail: "cannot read file", offset: nil)
            let claim = ScanFormatDetector.claimedFormat(extension: ScanFormatDetector.fileExtension(name))
            let format = problem.kind == .symlink ? .data : (claim ?? .data)
            return ScanFileResult(path: name, format: format, findings: [problem.finding(member: nil)])
        }
        return scan(file: file, head: head, path: path, name: name)
    }

    private func scan(file: ScanFile, head: [UInt8], path: String, name: String) -> ScanFileResult {
        let ext = ScanFormatDetector.fileExtension(name)
        var accumulator = ScanAccumulator()
        let format: ScanFormat
        switch ScanFormatDetector.detect(head: head, size: file.size, extension: ext) {
        case .data:
            format = .data
        case .safetensors:
            format = .safetensors
            let verdict = safetensorsChecker(path)
            if !verdict.valid {
                accumulator.add(ScanFinding(severity: .medium, kind: .malformed, detail: verdict.reason ?? "invalid safetensors file"))
            }
        case .empty(let claim):
            format = claim
            accumulator.add(ScanFinding(severity: .medium, kind: .empty, detail: "empty file named like a \(claim.rawValue) file"))
        case .unrecognized(let claim):
            format = claim
            accumulator.add(ScanFinding(severity: .medium, kind: .unrecognized, detail: "content does not match the \(claim.rawValue) format its name claims", offset: 0))
        case .unsupportedCompression(let name, let claim):
            format = claim
            accumulator.add(ScanFinding(severity: .medium, kind: .unsupportedCompression, detail: "\(name) compression is not scanned", offset: 0))
        case .unsupported(let detail, let claim):
            format = claim
            accumulator.add(ScanFinding(severity: .medium, kind: .unsupported, detail: detail, offset: 0))
        case .pytorchLegacy:
            format = .pytorchLegacy
            var reader = fileReader(file, head: head)
            let outcome = streams.scan(&reader, member: nil, pickleCount: 5, joblibArrays: false)
            accumulator.add(outcome.report)
            if let problem = outcome.problem { accumulator.add(problem, member: nil) }
        case .pickle:
            let sawWrapper = scanPlainPickle(file, head: head, into: &accumulator)
            format = ext == "joblib" || sawWrapper ? .joblib : .pickle
        case .probablePickle:
            var attempt = ScanAccumulator()
            _ = scanPlainPickle(file, head: head, into: &attempt)
            if attempt.findings.isEmpty || attempt.hasUnsafeFinding {
                return attempt.result(path: name, format: .pickle)
            }
            format = .data
        case .joblibCompressed:
            format = .joblib
            scanCompressedJoblib(file, into: &accumulator)
        case .numpy:
            format = .numpy
            scanNumpyFile(file, head: head, into: &accumulator)
        case .zip:
            let claim = ScanFormatDetector.claimedFormat(extension: ext) ?? (ext == "bin" ? .pickle : nil)
            format = ZipContainerScanner(scanner: self).scan(file, claim: claim, extension: ext, into: &accumulator)
        }
        return accumulator.result(path: name, format: format)
    }

    func fileReader(_ file: ScanFile, head: [UInt8]) -> ScanByteReader<ScanFileRangeSource> {
        ScanByteReader(prefix: head, source: ScanFileRangeSource(file: file, start: head.count, end: file.size))
    }

    /// A plain pickle stream, read the way `joblib.load` reads it and (if a joblib array
    /// wrapper appears, where the two diverge) also the way `pickle.load` reads it: the second
    /// reading resumes from the first wrapper instead of walking the shared prefix again.
    /// Returns whether a joblib array wrapper was seen.
    private func scanPlainPickle(_ file: ScanFile, head: [UInt8], into accumulator: inout ScanAccumulator) -> Bool {
        var reader = fileReader(file, head: head)
        let outcome = streams.scan(&reader, member: nil, pickleCount: nil, joblibArrays: true, keepFork: true)
        accumulator.add(outcome.report)
        if let problem = outcome.problem { accumulator.add(problem, member: nil) }
        if let fork = outcome.fork {
            // pickle.load reads one pickle; where it fails after the wrapper, joblib does not,
            // so its problem is not reported, only what it imports up to there.
            var plain = PickleReport(member: nil)
            try? streams.analyzer.resume(fork, report: &plain)
            accumulator.merge(plain)
        }
        return outcome.report.sawArrayWrapper
    }

    private func scanCompressedJoblib(_ file: ScanFile, into accumulator: inout ScanAccumulator) {
        do {
            let inflater = try ScanInflater(
                inner: ScanFileRangeSource(file: file, start: 0, end: file.size), wrapping: .zlibOrGzip,
                limits: .init(maxOutput: limits.maxJoblibInflatedBytes, maxRatio: nil, grace: 0, declaredSize: nil),
                concatenated: true)
            var reader = ScanByteReader(source: inflater)
            let outcome = streams.scan(&reader, member: nil, pickleCount: nil, joblibArrays: true)
            accumulator.add(outcome.report)
            if let problem = outcome.problem { accumulator.add(problem, member: nil) }
        } catch {
            accumulator.add((error as? ScanProblem) ?? .malformed("cannot inflate"), member: nil)
        }
    }

    private func scanNumpyFile(_ file: ScanFile, head: [UInt8], into accumulator: inout ScanAccumulator) {
        var reader = fileReader(file, head: head)
        do {
            let header = try NumpyHeader.read(from: &reader, maxHeaderBytes: limits.maxNumpyHeaderBytes)
            if header.hasObject {
                let outcome = streams.scan(&reader, member: nil, pickleCount: nil, joblibArrays: false)
                accumulator.add(outcome.report)
                if let problem = outcome.problem { accumulator.add(problem, member: nil) }
            } else if let size = header.dataSize, UInt64(file.size - header.dataOffset) < size {
                throw ScanProblem.truncated("npy data shorter than its header says (\(size) bytes)", at: header.dataOffset)
            }
        } catch {
            accumulator.add((error as? ScanProblem) ?? .malformed("unreadable npy"), member: nil)
        }
    }
}
