import Foundation

/// A temporary folder for one test, removed by `remove()`.
struct Scratch {
    let path: String

    init(_ prefix: String = "vessel-client") throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `bytes` to `name` below the folder and returns its path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = "\(path)/\(name)"
        guard FileManager.default.createFile(atPath: file, contents: Data(bytes)) else { throw ScratchError(file) }
        return file
    }
}

struct ScratchError: Error, CustomStringConvertible {
    var description: String
    init(_ path: String) { description = "cannot write \(path)" }
}
