/// Scans zip-based artifacts: PyTorch checkpoints, `.npz` archives and Keras v3 files.
///
/// Every member name is checked for path traversal, and every member's declared sizes and
/// local header by `ZipMemberAudit`. Only the members that can carry code are read: `.pkl` members of PyTorch zips, `.npy` headers (and object-array pickles) of
/// `.npz`, `config.json` of `.keras`. Tensor data is never read.
struct ZipContainerScanner {
    let scanner: ModelScanner

    /// The model layouts a zip can have.
    private enum Layout {
        case pytorch
        case keras
        case numpy
    }

    /// Returns the format the archive turned out to be.
    func scan(_ file: ScanFile, claim: ScanFormat?, extension ext: String, into accumulator: inout ScanAccumulator) -> ScanFormat {
        let limits = scanner.limits
        let archive: ZipArchiveReader
        do {
            archive = try ZipArchiveReader(file: file, limits: limits)
        } catch {
            let problem = (error as? ScanProblem) ?? .malformed("unreadable zip")
            if claim != nil || problem.kind.isUnsafe { accumulator.add(problem, member: nil) }
            return claim ?? .data
        }
        let files = archive.entries.filter { !$0.isDirectory }
        let layout = Self.layout(of: files, extension: ext)
        // Every member is judged from the directory and its local header, read or not (as
        // for the archive itself, only unsafe problems count in a zip that is plain data). A
        // member found wanting is not read: its problem would only be reported twice.
        let audit = ZipMemberAudit(archive: archive, limits: limits)
        var refused = Set<String>()
        for entry in archive.entries {
            if let reason = entry.traversalReason {
                accumulator.add(ScanFinding(severity: .high, kind: .pathTraversal, detail: reason, member: entry.name))
            }
            for problem in audit.problems(entry) {
                refused.insert(entry.name)
                if layout != nil || claim != nil || problem.kind.isUnsafe { accumulator.add(problem, member: entry.name) }
            }
        }
        switch layout {
        case .pytorch:
            for entry in files {
                if Self.hasSuffix(entry.name, ".pkl") {
                    if !refused.contains(entry.name) { scanPickleMember(archive, entry, into: &accumulator) }
                } else if Self.hasSuffix(entry.name, ".py") {
                    accumulator.add(ScanFinding(severity: .high, kind: .codeMember, detail: "TorchScript/Python code member is not analysed", member: entry.name))
                }
            }
            return .pytorchZip
        case .keras:
            let config = files.first { $0.name == "config.json" }
            if let config, refused.contains(config.name) { return .keras }
            scanKerasConfig(archive, config, into: &accumulator)
            return .keras
        case .numpy:
            for entry in files where Self.hasSuffix(entry.name, ".npy") && !refused.contains(entry.name) {
                scanNumpyMember(archive, entry, into: &accumulator)
            }
            return .numpyZip
        case nil:
            if let claim {
                accumulator.add(ScanFinding(severity: .medium, kind: .unrecognized, detail: "zip archive is not a PyTorch, NumPy or Keras layout"))
                return claim
            }
            return .data
        }
    }

    /// Which model layout the member names (and the file's extension) say, if any.
    private static func layout(of files: [ZipArchiveEntry], extension ext: String) -> Layout? {
        if files.contains(where: { isTorchRecord($0.name) }) { return .pytorch }
        if ext == "keras" || (files.contains { $0.name == "config.json" }
                              && files.contains { $0.name == "metadata.json" || $0.name == "model.weights.h5" }) {
            return .keras
        }
        if ext == "npz" || (!files.isEmpty && files.allSatisfy { hasSuffix($0.name, ".npy") }) { return .numpy }
        return nil
    }

    /// Whether `name`, lowercased, ends with `suffix` (lowercase ASCII). ASCII names are
    /// compared in place; others are lowercased first, as before (a Kelvin sign lowercases to
    /// "k").
    static func hasSuffix(_ name: String, _ suffix: StaticString) -> Bool {
        let expected = UnsafeBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount)
        var contiguous = name
        return contiguous.withUTF8 { bytes in
            guard bytes.allSatisfy({ $0 < 0x80 }) else { return name.lowercased().utf8.reversed().starts(with: expected.reversed()) }
            guard bytes.count >= expected.count else { return false }
            return zip(bytes.suffix(expected.count), expected).allSatisfy { byte, want in
                (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 == want : byte == want
            }
        }
    }

    /// `data.pkl` at the root or one folder down (`archive/data.pkl`), as `torch.load` finds it.
    static func isTorchRecord(_ name: String) -> Bool {
        var contiguous = name
        return contiguous.withUTF8 { bytes in
            guard bytes.count >= 8, bytes.suffix(8).elementsEqual("data.pkl".utf8) else { return false }
            guard bytes.allSatisfy({ $0 < 0x80 }) else {
                // Characters, not bytes: a combining mark after "/" makes it no separator.
                let parts = name.split(separator: "/", omittingEmptySubsequences: false)
                return parts.last == "data.pkl" && parts.count <= 2
            }
            let folder = bytes.dropLast(8)
            guard let slash = folder.firstIndex(of: UInt8(ascii: "/")) else { return folder.isEmpty }
            return folder.index(after: slash) == folder.endIndex
        }
    }

    private func scanPickleMember(_ archive: ZipArchiveReader, _ entry: ZipArchiveEntry, into accumulator: inout ScanAccumulator) {
        do {
            var reader = try archive.openMember(entry, limits: scanner.limits)
            let outcome = scanner.streams.scan(&reader, member: entry.name, pickleCount: nil, joblibArrays: false)
            accumulator.add(outcome.report)
            if let problem = outcome.problem {
                accumulator.add(problem, member: entry.name)
            } else {
                try archive.verify(reader, entry)
            }
        } catch {
            accumulator.add((error as? ScanProblem) ?? .malformed("unreadable member"), member: entry.name)
        }
    }

    private func scanNumpyMember(_ archive: ZipArchiveReader, _ entry: ZipArchiveEntry, into accumulator: inout ScanAccumulator) {
        do {
            var reader = try archive.openMember(entry, limits: scanner.limits)
            let header = try NumpyHeader.read(from: &reader, maxHeaderBytes: scanner.limits.maxNumpyHeaderBytes)
            if header.hasObject {
                let outcome = scanner.streams.scan(&reader, member: entry.name, pickleCount: nil, joblibArrays: false)
                accumulator.add(outcome.report)
                if let problem = outcome.problem {
                    accumulator.add(problem, member: entry.name)
                } else {
                    try archive.verify(reader, entry)
                }
            } else if let size = header.dataSize {
                let (expected, overflow) = size.addingReportingOverflow(UInt64(header.dataOffset))
                if overflow || entry.uncompressedSize < expected {
                    throw ScanProblem.truncated("npy member shorter than its header says", at: header.dataOffset)
                }
            }
        } catch {
            accumulator.add((error as? ScanProblem) ?? .malformed("unreadable member"), member: entry.name)
        }
    }

    private func scanKerasConfig(_ archive: ZipArchiveReader, _ entry: ZipArchiveEntry?, into accumulator: inout ScanAccumulator) {
        guard let entry else {
            accumulator.add(ScanFinding(severity: .medium, kind: .malformed, detail: "Keras archive without config.json"))
            return
        }
        do {
            guard entry.uncompressedSize <= UInt64(scanner.limits.maxKerasConfigBytes) else {
                throw ScanProblem.limit("config.json larger than \(scanner.limits.maxKerasConfigBytes) bytes")
            }
            var reader = try archive.openMember(entry, limits: scanner.limits)
            let bytes = Array(try reader.readBytes(Int(entry.uncompressedSize), "config.json"))
            guard try reader.atEnd() else { throw ScanProblem.bomb("config.json inflates past its declared size") }
            try archive.verify(reader, entry)
            let inspector = KerasConfigInspector(policy: scanner.allowlist.keras)
            for finding in try inspector.inspect(bytes, member: entry.name) { accumulator.add(finding) }
        } catch {
            accumulator.add((error as? ScanProblem) ?? .malformed("unreadable config.json"), member: entry.name)
        }
    }
}
