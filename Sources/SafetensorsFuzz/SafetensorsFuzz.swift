import Foundation
import VesselFormats

// libFuzzer target for the safetensors header parser and the shard-index parser.
//
// Fuzzing build (libFuzzer supplies `main`; see docs/safetensors.md):
//   swift build -c debug --product SafetensorsFuzz --build-path .build-fuzz \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
// Plain build: a replay tool that parses each file given on the command line and prints
// `<path>: ok` or `<path>: <error code>`, so crashing inputs can be re-run without libFuzzer.

/// Runs one input through every parser; any trap is a bug.
func fuzzOne(_ bytes: UnsafeRawBufferPointer) -> String {
    let header: String
    do {
        let parsed = try SafetensorsHeader.parse(bytes, fileSize: UInt64(bytes.count))
        header = "ok (\(parsed.tensors.count) tensors)"
    } catch {
        header = error.code
    }
    // The same bytes as a shard index, and the header prefix read through the closure API.
    _ = try? SafetensorsShardIndex.parse(Array(bytes))
    _ = try? SafetensorsHeader.read(fileSize: UInt64(bytes.count)) { offset, count in
        let start = Int(offset)
        guard start <= bytes.count else { return [] }
        return Array(bytes[start..<min(bytes.count, start + count)])
    }
    return header
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    _ = fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

// SwiftPM links executables with `main` aliased to `<module>_main`, which keeps libFuzzer's
// own `main` out of the link; this entry point hands control to libFuzzer's driver instead.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("SafetensorsFuzz_main")
public func safetensorsFuzzMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        _ = fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
}
#else
@main
struct SafetensorsFuzzReplay {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("\(path): unreadable")
                continue
            }
            let result = data.withUnsafeBytes { fuzzOne($0) }
            print("\(path): \(result)")
        }
    }
}
#endif
