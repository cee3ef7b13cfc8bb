import Foundation
import Testing
import VesselCore
@testable import VesselClient
@testable import VesselSigning

/// The hand-written tar writer and reader behind `vessel export`/`import` (docs/oci.md): the
/// same entries give the same bytes, long paths and PAX records read back, and the reader
/// refuses what a version cannot hold.
@Suite struct TarTests {
    static func temp() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vessel-tar-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Writes entries with `TarWriter` and returns the archive's path.
    static func archive(_ dir: String, _ build: (TarWriter) throws -> Void) throws -> String {
        let path = "\(dir)/layer-\(UUID().uuidString).tar"
        let out = try HashingFileWriter(path: path)
        try build(TarWriter(out: out))
        _ = try out.finish()
        return path
    }

    static func read(_ path: String) throws -> [(TarEntry, [UInt8])] {
        let reader = try TarReader(path: path)
        var out: [(TarEntry, [UInt8])] = []
        var content: [UInt8] = []
        while let entry = try reader.next({ _, piece in content += piece }, begin: { _ in content = [] }) {
            out.append((entry, content))
        }
        _ = try reader.finish()
        return out
    }

    @Test func roundTripIsByteIdenticalAndReadsBack() throws {
        let dir = Self.temp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data: [UInt8] = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Data(data).write(to: URL(fileURLWithPath: "\(dir)/src"))
        let longPath = "models/acme/m/" + String(repeating: "d", count: 120) + "/" + String(repeating: "f", count: 90) + ".bin"
        let noSlashPath = "models/acme/m/" + String(repeating: "x", count: 130)
        func build(_ tar: TarWriter) throws {
            try tar.directory("models/")
            try tar.file("models/acme/m/a.bin", size: UInt64(data.count), from: "\(dir)/src")
            try tar.file(longPath, size: 10, from: "\(dir)/src")
            try tar.file(noSlashPath, size: 0, from: "\(dir)/src")
            try tar.end()
        }
        let first = try Self.archive(dir, build), second = try Self.archive(dir, build)
        #expect(FileManager.default.contents(atPath: first) == FileManager.default.contents(atPath: second))
        let entries = try Self.read(first)
        #expect(entries.map(\.0.path) == ["models/", "models/acme/m/a.bin", longPath, noSlashPath])
        #expect(entries[1].1 == data && entries[2].1 == Array(data.prefix(10)) && entries[3].1.isEmpty)
        #expect(entries[0].0.kind == .directory)
        // GNU tar reads it the same way.
        let listing = try Self.run("/usr/bin/tar", ["-tf", first])
        #expect(listing.split(separator: "\n").map(String.init) == ["models/", "models/acme/m/a.bin", longPath, noSlashPath], "\(listing)")
    }

    @Test func gnuTarArchivesReadAndLinksAreRefused() throws {
        let dir = Self.temp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: "\(dir)/t/models/acme/m", withIntermediateDirectories: true)
        try Data("hello".utf8).write(to: URL(fileURLWithPath: "\(dir)/t/models/acme/m/x.txt"))
        _ = try Self.run("/usr/bin/tar", ["-C", "\(dir)/t", "--format=pax", "-cf", "\(dir)/ok.tar", "models"])
        let entries = try Self.read("\(dir)/ok.tar")
        #expect(entries.contains { $0.0.path == "models/acme/m/x.txt" && $0.1 == Array("hello".utf8) })
        symlink("x.txt", "\(dir)/t/models/acme/m/link")
        _ = try Self.run("/usr/bin/tar", ["-C", "\(dir)/t", "-cf", "\(dir)/link.tar", "models"])
        #expect(throws: VesselError.self) { try Self.read("\(dir)/link.tar") }
    }

    @Test func entryPathsOutsideTheModelAreRefused() throws {
        let root = "models/acme/m/"
        #expect(try OCIImport.relativePath("models/acme/m/a/b.bin", root: root, isDirectory: false) == "a/b.bin")
        #expect(try OCIImport.relativePath("/models/acme/m/a.bin", root: root, isDirectory: false) == "a.bin")
        #expect(try OCIImport.relativePath("./models/acme/", root: root, isDirectory: true) == nil)
        for bad in ["models/acme/m/../../../etc/passwd", "models/acme/m/./a", "models/acme/m//a", "etc/passwd", "models/acme/other/a.bin",
                    "models/acme/m", "models/acme/m/.wh.a.bin", "../models/acme/m/a"] {
            #expect(throws: VesselError.self, "\(bad)") { try OCIImport.relativePath(bad, root: root, isDirectory: false) }
        }
        #expect(throws: VesselError.self) { try OCIImport.relativePath("models/x/", root: root, isDirectory: true) }
    }

    /// A layer cut short anywhere (inside a header, inside a file's bytes, in the padding or
    /// before the closing zero blocks), plain or gzip, is refused by the reader with an error
    /// that says so: it never reads back as a shorter, complete archive.
    @Test func truncatedLayersAreRefusedWhereverTheyAreCut() throws {
        let dir = Self.temp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data: [UInt8] = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(data).write(to: URL(fileURLWithPath: "\(dir)/src"))
        let whole = try Self.archive(dir) { tar in
            try tar.directory("models/")
            try tar.file("models/acme/m/a.bin", size: UInt64(data.count), from: "\(dir)/src")
            try tar.file("models/acme/m/b.bin", size: 100, from: "\(dir)/src")
            try tar.end()
        }
        let bytes = try #require(FileManager.default.contents(atPath: whole))
        #expect(try Self.read(whole).count == 3)
        // Cuts: mid-header, at a header's end, mid-data, mid-padding, between entries, and
        // one byte before the end (the last zero block incomplete).
        let cuts = [100, 512, 1024, 1024 + 1500, 1024 + 3000 + 10, 1024 + 3072, 1024 + 3072 + 512 + 50, bytes.count - 1]
        for cut in cuts {
            let path = "\(dir)/cut-\(cut).tar"
            try Data(bytes.prefix(cut)).write(to: URL(fileURLWithPath: path))
            #expect(throws: VesselError.self, "cut at \(cut) of \(bytes.count)") { try Self.read(path) }
        }
        // The same through gzip: a stream cut short is refused as truncated.
        _ = try Self.run("/usr/bin/gzip", ["-k", "-n", whole])
        let gz = try #require(FileManager.default.contents(atPath: "\(whole).gz"))
        let cutGz = "\(dir)/cut.tar.gz"
        try Data(gz.prefix(gz.count / 2)).write(to: URL(fileURLWithPath: cutGz))
        let error = #expect(throws: VesselError.self) {
            let reader = try TarReader(path: cutGz, gzip: true)
            while try reader.next({ _, _ in }, begin: { _ in }) != nil {}
            _ = try reader.finish()
        }
        #expect(error?.message.contains("truncated") == true || error?.message.contains("ends") == true, "\(String(describing: error))")
    }

    @Test func paxRecordsCountTheirOwnLength() throws {
        for value in ["a", String(repeating: "p", count: 90), String(repeating: "q", count: 995)] {
            let record = TarWriter.paxRecord("path", value)
            let parsed = try TarReader.paxRecords(record, layer: "t")
            #expect(parsed.count == 1 && parsed[0].0 == "path" && parsed[0].1 == value)
        }
    }

    @Test func layerPlanGivesLargeFilesTheirOwnLayer() {
        let big = OCIExport.ownLayerThreshold
        let files = [ModelFolder.File(path: "a.json", size: 10), ModelFolder.File(path: "b.safetensors", size: big), ModelFolder.File(path: "c.txt", size: 1)]
        #expect(OCIExport.plan(files).map { $0.map(\.path) } == [["a.json", "c.txt"], ["b.safetensors"]])
        #expect(OCIExport.plan([files[1]]).count == 1)
        let many = (0..<70).map { ModelFolder.File(path: "s\($0)", size: big) }
        #expect(OCIExport.plan(many).count == OCIExport.maxOwnLayers + 1)
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self)
    }
}
