// SigningBench: signs and verifies a model folder with VesselSigning, hashing
// files in parallel, and prints timings. For scripts/bench_signing.sh only; the
// product's folder walker and hasher live in the main repository.
//
//   SigningBench sign   MODEL_DIR PRIVATE_KEY.pem SIGNATURE_OUT
//   SigningBench verify MODEL_DIR PUBLIC_KEY.pem  SIGNATURE
//
// Exit codes follow Vessel's conventions: 0 verified/signed, 1 not verified,
// 2 unreadable input, 64 usage.

import Crypto
import Foundation
import VesselCore
import VesselSigning

#if canImport(Glibc)
import Glibc
#endif

let workers = 2
let readSize = 1 << 20

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
}

/// Regular files under `root` (relative paths), skipping model-signing's git paths and `skip`.
func listFiles(_ root: URL, skip: Set<String>) throws -> [(path: String, size: Int)] {
    let ignored = Set(BundleFormat.defaultIgnorePaths).union(skip)
    var out: [(String, Int)] = []
    func walk(_ dir: URL, _ prefix: String) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let rel = prefix.isEmpty ? name : prefix + "/" + name
            if ignored.contains(rel) { continue }
            let url = dir.appendingPathComponent(name)
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            switch attributes[.type] as? FileAttributeType {
            case .typeDirectory?: try walk(url, rel)
            case .typeRegular?: out.append((rel, (attributes[.size] as? Int) ?? 0))
            default: throw BenchFailure(description: "\(rel) is not a regular file or directory")
            }
        }
    }
    try walk(root, "")
    return out
}

/// SHA-256 of one file with pread into a reused buffer.
func hashFile(_ path: String, buffer: UnsafeMutableRawBufferPointer) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw BenchFailure(description: "cannot open \(path)") }
    defer { close(fd) }
    _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
    var hasher = SHA256()
    var offset: off_t = 0
    while true {
        let n = pread(fd, buffer.baseAddress, buffer.count, offset)
        if n < 0 {
            if errno == EINTR { continue }
            throw BenchFailure(description: "read error in \(path)")
        }
        if n == 0 { break }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        offset += off_t(n)
    }
    return Array(hasher.finalize())
}

/// Hashes every file on `workers` tasks, largest first (`concurrentMap`), each read through a
/// buffer of its own.
func hashFolder(_ root: URL, skip: Set<String>) async throws -> (resources: [SignedResource], bytes: Int) {
    let files = try listFiles(root, skip: skip)
    let order = files.indices.sorted { files[$0].size > files[$1].size }
    let digests = try await concurrentMap(count: files.count, width: workers, order: order) { index in
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readSize, alignment: 4096)
        defer { buffer.deallocate() }
        return try hashFile(root.appendingPathComponent(files[index].path).path, buffer: buffer)
    }
    let resources = zip(files, digests).map { SignedResource(path: $0.path, sha256: $1) }
    return (resources, files.reduce(0) { $0 + $1.size })
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func report(_ what: String, bytes: Int, hashSeconds: Double, totalSeconds: Double) {
    let mib = Double(bytes) / 1_048_576
    FileHandle.standardError.write(Data(String(format: "%@: %.0f MiB, hash %.3f s (%.0f MiB/s), total %.3f s\n",
                                               what, mib, hashSeconds, mib / hashSeconds, totalSeconds).utf8))
}

func run() async -> Int32 {
    let args = CommandLine.arguments
    guard args.count == 5, ["sign", "verify"].contains(args[1]) else {
        FileHandle.standardError.write(Data("usage: SigningBench sign|verify MODEL_DIR KEY.pem SIGNATURE\n".utf8))
        return 64
    }
    let root = URL(fileURLWithPath: args[2])
    let signature = URL(fileURLWithPath: args[4])
    // Leave the signature file out when it sits at the top of the model folder.
    let skip: Set<String> = signature.deletingLastPathComponent().standardizedFileURL.path == root.standardizedFileURL.path
        ? [signature.lastPathComponent] : []
    let start = ContinuousClock.now
    do {
        if args[1] == "sign" {
            let key = try FileSigningKey(contentsOfFile: args[3])
            let hashStart = ContinuousClock.now
            let (resources, bytes) = try await hashFolder(root, skip: skip)
            let hashSeconds = seconds(since: hashStart)
            let bundle = try BundleWriter(key: key).makeBundle(subjectName: root.lastPathComponent, resources: resources,
                                                               additionalIgnorePaths: Array(skip))
            try Data(bundle).write(to: signature)
            report("sign", bytes: bytes, hashSeconds: hashSeconds, totalSeconds: seconds(since: start))
        } else {
            let key = try VerificationKey(pem: String(contentsOfFile: args[3], encoding: .utf8))
            let statement = try BundleVerifier(publicKey: key).verify(bundleAtPath: signature.path)
            let hashStart = ContinuousClock.now
            let (resources, bytes) = try await hashFolder(root, skip: skip)
            let hashSeconds = seconds(since: hashStart)
            let differences = BundleVerifier.compare(statement, with: resources)
            for difference in differences {
                FileHandle.standardError.write(Data("\(difference)\n".utf8))
            }
            report("verify", bytes: bytes, hashSeconds: hashSeconds, totalSeconds: seconds(since: start))
            return differences.isEmpty ? 0 : 1
        }
        return 0
    } catch let error as any SigningLibraryError {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        return error.exitCode
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        return 2
    }
}

exit(await run())
