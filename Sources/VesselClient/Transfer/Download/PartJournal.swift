import Foundation
import VesselCore

#if canImport(Glibc)
import Glibc
#endif

/// The ranges of a blob that reached its partial file, sorted and merged: `<hex>.partial.parts`
/// next to the partial file, one "start end" line per received range.
struct PartJournal: Sendable {
    let path: String

    var exists: Bool { access(path, F_OK) == 0 }

    /// The recorded ranges; nil when there is no journal or it does not describe a blob of
    /// `size` bytes (the download then starts over).
    func read(size: UInt64) -> [Range<UInt64>]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var ranges: [Range<UInt64>] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let start = UInt64(fields[0]), let end = UInt64(fields[1]), start < end, end <= size else { return nil }
            ranges = Self.merge(ranges, start..<end)
        }
        return ranges
    }

    /// Replaces the journal (temporary file, then rename).
    func write(_ ranges: [Range<UInt64>]) throws {
        let text = ranges.map { "\($0.lowerBound) \($0.upperBound)\n" }.joined()
        let temp = path + ".tmp"
        guard FileManager.default.createFile(atPath: temp, contents: Data(text.utf8)), rename(temp, path) == 0 else {
            throw VesselError.internalError("cannot record the progress of a download in \(path)")
        }
    }

    func remove() { unlink(path) }

    static func merge(_ ranges: [Range<UInt64>], _ new: Range<UInt64>) -> [Range<UInt64>] {
        var result: [Range<UInt64>] = []
        var pending = new
        for range in ranges {
            if range.upperBound < pending.lowerBound || range.lowerBound > pending.upperBound {
                result.append(range)
            } else {
                pending = min(range.lowerBound, pending.lowerBound)..<max(range.upperBound, pending.upperBound)
            }
        }
        result.append(pending)
        return result.sorted { $0.lowerBound < $1.lowerBound }
    }

    static func gaps(in ranges: [Range<UInt64>], size: UInt64) -> [Range<UInt64>] {
        var gaps: [Range<UInt64>] = []
        var next: UInt64 = 0
        for range in ranges {
            if range.lowerBound > next { gaps.append(next..<range.lowerBound) }
            next = max(next, range.upperBound)
        }
        if next < size { gaps.append(next..<size) }
        return gaps
    }

    /// Where the received prefix from byte 0 ends.
    static func prefixEnd(of ranges: [Range<UInt64>]) -> UInt64 {
        ranges.first.map { $0.lowerBound == 0 ? $0.upperBound : 0 } ?? 0
    }
}
