import Foundation
import VesselFormats

// Benchmark driver for scripts/bench_safetensors.sh (build with `-c release`).
//
//   SafetensorsBench generate DIR     write a 4-shard, 2 GiB checkpoint plus its index
//   SafetensorsBench headers DIR N    N iterations of header-only reads of every shard;
//                                     prints the median and minimum in microseconds (JSON)
//   SafetensorsBench parse DIR N      the same four headers parsed from memory (no I/O)
//   SafetensorsBench inspect DIR      one folder inspection (index check included), JSON
//   SafetensorsBench scan DIR         zero-copy pass over every tensor (one byte per page)
//                                     with RssAnon before/after from /proc/self/status

let shardCount = 4
let tensorsPerShard = 128
let tensorBytes = 4 << 20  // 4 MiB each: 128 × 4 MiB = 512 MiB per shard

func shardName(_ index: Int) -> String {
    String(format: "model-%05d-of-%05d.safetensors", index + 1, shardCount)
}

func shardPaths(_ directory: String) -> [String] {
    (0..<shardCount).map { directory + "/" + shardName($0) }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

func generate(_ directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var weightMap: [String: String] = [:]
    var total: UInt64 = 0
    for shard in 0..<shardCount {
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        for index in 0..<tensorsPerShard {
            let name = "model.layers.\(shard * tensorsPerShard + index).mlp.weight"
            let seed = UInt8(truncatingIfNeeded: index)
            try writer.addTensor(name: name, dtype: .bf16, shape: [UInt64(tensorBytes / 2 / 1024), 1024]) { chunk, offset in
                // Cheap, non-constant content: one 8-byte pattern word per position.
                let words = chunk.count / 8
                let base = chunk.baseAddress
                var value = (offset &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(seed)
                for word in 0..<words {
                    value = value &* 6_364_136_223_846_793_005 &+ 1
                    base?.storeBytes(of: value, toByteOffset: word * 8, as: UInt64.self)
                }
            }
            weightMap[name] = shardName(shard)
            total += UInt64(tensorBytes)
        }
        try writer.write(toPath: directory + "/" + shardName(shard))
    }
    let index: [String: Any] = ["metadata": ["total_size": total], "weight_map": weightMap]
    let data = try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys])
    try data.write(to: URL(fileURLWithPath: directory + "/model.safetensors.index.json"))
}

func nowNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

func headers(_ directory: String, iterations: Int) throws {
    let paths = shardPaths(directory)
    var samples: [Double] = []
    var tensors = 0
    for _ in 0..<iterations {
        let start = nowNanoseconds()
        tensors = 0
        for path in paths { tensors += try SafetensorsHeader.readFile(atPath: path).tensors.count }
        samples.append(Double(nowNanoseconds() - start) / 1000)
    }
    samples.sort()
    let median = samples[samples.count / 2]
    print("{\"iterations\": \(iterations), \"files\": \(paths.count), \"tensors\": \(tensors), \"median_us\": \(median), \"min_us\": \(samples.first ?? 0)}")
}

/// Parse-only timing: the four headers are read once, then parsed from memory.
func parseOnly(_ directory: String, iterations: Int) throws {
    var inputs: [([UInt8], UInt64)] = []
    for path in shardPaths(directory) {
        let header = try SafetensorsHeader.readFile(atPath: path)
        guard let handle = FileHandle(forReadingAtPath: path) else { fail("cannot open \(path)") }
        let bytes = [UInt8](handle.readData(ofLength: Int(header.dataStart)))
        inputs.append((bytes, header.fileSize))
    }
    var samples: [Double] = []
    for _ in 0..<iterations {
        let start = nowNanoseconds()
        for (bytes, size) in inputs { _ = try SafetensorsHeader.parse(bytes, fileSize: size) }
        samples.append(Double(nowNanoseconds() - start) / 1000)
    }
    samples.sort()
    print("{\"iterations\": \(iterations), \"files\": \(inputs.count), \"median_us\": \(samples[samples.count / 2]), \"min_us\": \(samples.first ?? 0)}")
}

func rssAnonKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("RssAnon:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
    }
    return -1
}

func scan(_ directory: String) throws {
    let before = rssAnonKiB()
    let start = nowNanoseconds()
    var checksum: UInt64 = 0
    var bytes: UInt64 = 0
    var peak = before
    for path in shardPaths(directory) {
        let file = try SafetensorsFile(path: path)
        file.forEachTensor { view in
            var offset = 0
            while offset < view.bytes.count {
                checksum = checksum &* 31 &+ UInt64(view.bytes[offset])
                offset += 4096
            }
            bytes += UInt64(view.bytes.count)
        }
        peak = max(peak, rssAnonKiB())
    }
    let seconds = Double(nowNanoseconds() - start) / 1e9
    let after = rssAnonKiB()
    print("{\"bytes\": \(bytes), \"seconds\": \(seconds), \"checksum\": \(checksum), \"rss_anon_before_kib\": \(before), \"rss_anon_after_kib\": \(after), \"rss_anon_peak_kib\": \(peak), \"rss_anon_growth_kib\": \(peak - before)}")
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else { fail("usage: SafetensorsBench generate|headers|inspect|scan DIR [ITERATIONS]") }
let directory = arguments[2]
do {
    switch arguments[1] {
    case "generate": try generate(directory)
    case "headers": try headers(directory, iterations: arguments.count > 3 ? Int(arguments[3]) ?? 200 : 200)
    case "inspect":
        let report = SafetensorsInspector.inspect(path: directory)
        guard report.valid else { fail(report.renderText()) }
        print("{\"valid\": true, \"tensor_count\": \(report.summary?.tensorCount ?? 0), \"tensor_bytes\": \(report.summary?.tensorBytes ?? 0)}")
    case "parse": try parseOnly(directory, iterations: arguments.count > 3 ? Int(arguments[3]) ?? 200 : 200)
    case "scan": try scan(directory)
    default: fail("unknown command \(arguments[1])")
    }
} catch {
    fail("error: \(error)")
}
