/// Scans consecutive pickles in one stream: a plain file, a zip member, the pickle after an
/// `.npy` header, a joblib stream, or the stacked pickles of a legacy PyTorch file.
struct PickleStreamScanner {
    let analyzer: PickleAnalyzer
    let limits: ScanLimits

    /// Scans from the reader's position: `pickleCount` pickles, or (nil) pickles until the end.
    /// Returns what was found and the problem that ended the scan early, if any.
    ///
    /// With `keepFork` (and `joblibArrays`), a first pickle that builds a joblib array wrapper
    /// returns in `fork` the point where `pickle.load` reads on differently.
    func scan<S: ScanChunkSource>(
        _ reader: inout ScanByteReader<S>, member: String?, pickleCount: Int?, joblibArrays: Bool,
        keepFork: Bool = false
    ) -> (report: PickleReport, problem: ScanProblem?, fork: PickleFork<S>?) {
        var report = PickleReport(member: member)
        var fork: PickleFork<S>?
        var scanned = 0
        do {
            while true {
                if scanned == 0 && keepFork && joblibArrays {
                    try analyzer.scanOne(&reader, report: &report, fork: &fork)
                } else {
                    try analyzer.scanOne(&reader, report: &report, joblibArrays: joblibArrays)
                }
                scanned += 1
                if let pickleCount, scanned >= pickleCount { break }
                if try reader.atEnd() { break }
                guard scanned < limits.maxPicklesPerStream else {
                    throw ScanProblem.limit("more than \(limits.maxPicklesPerStream) pickles in one stream", at: reader.offset)
                }
            }
            return (report, nil, fork)
        } catch let problem as ScanProblem {
            return (report, problem, fork)
        } catch {
            return (report, ScanProblem.malformed("unexpected error: \(error)"), fork)
        }
    }
}
