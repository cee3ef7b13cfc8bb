import Foundation
import VesselCore

/// `vessel env check`'s work in process (read a requirements file and a freeze, evaluate the
/// markers, judge every requirement) on a generated 200-line requirements file and a 400-line
/// freeze, timed beside Python's `packaging` doing the same check in the same run
/// (scripts/bench_envcheck.py). Run by scripts/bench_envcheck.sh.
///
///     EnvCheckBench generate FOLDER             writes requirements.txt and freeze.txt
///     EnvCheckBench time FOLDER ITERATIONS      prints {"median_us", "verdicts"} as JSON
let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: EnvCheckBench generate FOLDER | time FOLDER ITERATIONS\n".utf8))
    exit(64)
}
let folder = arguments[2]

struct Random {
    var state: UInt64
    mutating func below(_ n: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(n))
    }
}

func generate() throws {
    var random = Random(state: 25)
    var freeze: [String] = ["# pip freeze of a serving image"]
    var versions: [(name: String, version: String)] = []
    for i in 0..<400 {
        let name = ["torch", "transformers", "numpy", "safetensors", "tokenizers", "accelerate", "Flask", "ruamel.yaml"][i % 8] + "-\(i)"
        var version = "\(random.below(5)).\(random.below(40)).\(random.below(10))"
        if random.below(20) == 0 { version += ["rc1", ".post1", ".dev3", "+cu121"][random.below(4)] }
        versions.append((name, version))
        freeze.append("\(name.replacingOccurrences(of: "-", with: "_"))==\(version)")
    }
    var lines = ["# requirements of a model version", "--index-url https://pypi.org/simple", ""]
    for i in 0..<200 {
        let (name, version) = versions[(i * 7) % 400]
        let base = version.split(separator: "+")[0]
        let parts = base.split(separator: ".")
        var line: String
        switch i % 8 {
        case 0: line = "\(name)==\(version)"
        case 1: line = "\(name)>=\(parts[0]).0,<\(Int(parts[0].prefix(1)) ?? 0 + 1)0"
        case 2: line = "\(name)~=\(parts[0]).\(parts[1])"
        case 3: line = "\(name)[extra]!=\(parts[0]).\(parts[1]).*,>=0.1 ; python_version >= \"3.8\" and sys_platform != \"win32\""
        case 4: line = "\(name)==\(parts[0]).\(parts[1]).* ; platform_system == \"Linux\" or os_name == \"nt\""
        case 5: line = "\(name)<=9999 \\\n    --hash=sha256:\(String(repeating: "0f", count: 32))"
        case 6: line = "missing-\(i)>=1.0  # not installed"
        default: line = "\(name.uppercased())>\(parts[0]) ; python_full_version < \"3.13.1\""
        }
        lines.append(line)
    }
    try lines.joined(separator: "\n").appending("\n").write(toFile: folder + "/requirements.txt", atomically: true, encoding: .utf8)
    try freeze.joined(separator: "\n").appending("\n").write(toFile: folder + "/freeze.txt", atomically: true, encoding: .utf8)
}

func time(iterations: Int) throws {
    let requirementsText = try String(contentsOfFile: folder + "/requirements.txt", encoding: .utf8)
    let freezeText = try String(contentsOfFile: folder + "/freeze.txt", encoding: .utf8)
    let environment = try MarkerEnvironment(pythonVersion: "3.11", platform: .linux)
    var samples: [Double] = []
    var counts: [String: Int] = [:]
    for _ in 0..<iterations {
        let start = DispatchTime.now().uptimeNanoseconds
        let file = try RequirementsFile(text: requirementsText, fileName: "requirements.txt")
        let installed = try InstalledPackages(freeze: freezeText, fileName: "freeze.txt")
        let report = try EnvironmentCheck.check(file, against: installed, in: environment)
        samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
        counts = report.counts
    }
    samples.sort()
    let verdicts = counts.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ")
    print("{\"median_us\": \(samples[samples.count / 2]), \"verdicts\": {\(verdicts)}}")
}

switch arguments[1] {
case "generate": try generate()
case "time": try time(iterations: arguments.count > 3 ? Int(arguments[3]) ?? 200 : 200)
default: exit(64)
}
