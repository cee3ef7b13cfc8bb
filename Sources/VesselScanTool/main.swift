import Foundation
import VesselFormats

// vessel-scan: `ModelScanner` alone, for scripts/compare_scanners.py and scripts/bench_scan.sh.
// Files are judged exactly as by `vessel scan` and the registry: the reviewed allowlist and the
// strict safetensors parser (`ModelScanner.safetensorsRules`).
//
//   vessel-scan [--json] [--imports] PATH...     scan on every core and print the results
//                                                (--json: {"items": [ScanFileResult…]}); exit 0
//                                                all safe, 1 something unsafe, 2 something invalid
//                                                and nothing unsafe
//   vessel-scan --bench N [--bench-seconds S] [--jobs J] PATH...
//                                                scan the files at least N times and for at least
//                                                S seconds on J threads (default 1), print
//                                                {"files","bytes","jobs","best_seconds","rounds",
//                                                "checksum"}, exit 0; VESSEL_SCAN_PER_FILE=1 also
//                                                prints each file's best of N to stderr
//
// --jobs applies to --bench only. Usage errors and --help exit 64.

func usage() -> Never {
    FileHandle.standardError.write(Data("usage: vessel-scan [--json] [--imports] [--bench N [--bench-seconds S] [--jobs J]] PATH...\n".utf8))
    exit(64)
}

var json = false
var imports = false
var benchRounds = 0
var benchSeconds = 0.0
var jobs = 1
var paths: [String] = []
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--json": json = true
    case "--imports": imports = true
    case "--bench":
        guard let value = arguments.popFirst(), let rounds = Int(value), rounds > 0 else { usage() }
        benchRounds = rounds
    case "--bench-seconds":
        guard let value = arguments.popFirst(), let seconds = Double(value), seconds >= 0 else { usage() }
        benchSeconds = seconds
    case "--jobs":
        guard let value = arguments.popFirst(), let count = Int(value), count > 0 else { usage() }
        jobs = count
    case "--help", "-h": usage()
    default: paths.append(argument)
    }
}
if paths.isEmpty { usage() }

let scanner = ModelScanner(safetensorsChecker: ModelScanner.safetensorsRules)

if benchRounds > 0 {
    let files = scanner.scan(paths: paths).map(\.path)
    var bytes = 0
    for path in files {
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path), let size = attributes[.size] as? Int {
            bytes += size
        }
    }
    var best = Double.infinity
    var checksum = 0
    // At least `benchRounds` rounds, and rounds until `benchSeconds` have passed: a tool
    // compared with a slower one gets the same time to warm up (CPU frequency, caches), not
    // merely the same number of rounds.
    let began = DispatchTime.now().uptimeNanoseconds
    var rounds = 0
    while rounds < benchRounds || Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9 < benchSeconds {
        let start = DispatchTime.now().uptimeNanoseconds
        if jobs == 1 {
            for path in files { checksum &+= scanner.scanFile(at: path).findings.count }
        } else {
            for result in scanner.scanFiles(files, jobs: jobs) { checksum &+= result.findings.count }
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        best = min(best, elapsed)
        rounds += 1
    }
    print("{\"files\": \(files.count), \"bytes\": \(bytes), \"jobs\": \(jobs), \"best_seconds\": \(best), \"rounds\": \(rounds), \"checksum\": \(checksum)}")
    if ProcessInfo.processInfo.environment["VESSEL_SCAN_PER_FILE"] == "1" {
        // Where the time goes: each file's best of the rounds, slowest first, to stderr.
        var perFile: [(Double, String)] = []
        for path in files {
            var fileBest = Double.infinity
            for _ in 0..<benchRounds {
                let start = DispatchTime.now().uptimeNanoseconds
                checksum &+= scanner.scanFile(at: path).findings.count
                fileBest = min(fileBest, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3)
            }
            perFile.append((fileBest, path))
        }
        for (micros, path) in perFile.sorted(by: { $0.0 > $1.0 }) {
            FileHandle.standardError.write(Data(String(format: "%9.1f us  %@\n", micros, (path as NSString).lastPathComponent).utf8))
        }
    }
    exit(0)
}

let results = scanner.scan(paths: paths)
if json {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(["items": results])) ?? Data("{}".utf8)
    print(String(decoding: data, as: UTF8.self))
} else {
    print(ScanTextRenderer(showImports: imports).render(results), terminator: "")
}
let worst = results.map(\.verdict).max() ?? .safe
exit(worst == .unsafe ? 1 : (worst == .invalid ? 2 : 0))
