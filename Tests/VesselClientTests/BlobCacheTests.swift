import struct Crypto.SHA256
import Foundation
import Testing
import VesselCore
@testable import VesselClient

/// The node-local cache: what it hands out, what it refuses, and that an edit of a pulled
/// (hard-linked) file never passes for cached content.
@Suite struct BlobCacheTests {
    static func digest(_ bytes: [UInt8]) -> Digest { Digest(bytes: SHA256.hash(data: bytes)) }

    /// A cache with `bytes` inserted as a verified blob.
    func cacheWith(_ bytes: [UInt8], in dir: Scratch) throws -> (BlobCache, Digest, String) {
        let cache = try BlobCache(root: "\(dir.path)/cache")
        let digest = Self.digest(bytes)
        let partial = cache.partialPath(of: digest)
        #expect(FileManager.default.createFile(atPath: partial, contents: Data(bytes)))
        let path = try cache.insert(verifiedFile: partial, digest: digest)
        return (cache, digest, path)
    }

    @Test func theLayoutIsContentAddressed() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let cache = try BlobCache(root: "\(dir.path)/cache")
        var isDir: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: "\(dir.path)/cache/blobs/sha256", isDirectory: &isDir) && isDir.boolValue)
        #expect(FileManager.default.fileExists(atPath: "\(dir.path)/cache/partial", isDirectory: &isDir) && isDir.boolValue)
        let digest = Self.digest([1, 2, 3])
        #expect(cache.path(of: digest) == "\(dir.path)/cache/blobs/sha256/\(digest.hex.prefix(2))/\(digest.hex)")
        #expect(cache.partialPath(of: digest) == "\(dir.path)/cache/partial/\(digest.hex).partial")
    }

    @Test func theDefaultRootFollowsXDGThenHome() {
        #expect(BlobCache.defaultRoot(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"]) == "/x/vessel")
        #expect(BlobCache.defaultRoot(environment: ["XDG_CACHE_HOME": "", "HOME": "/h"]) == "/h/.cache/vessel")
        #expect(BlobCache.defaultRoot(environment: ["HOME": "/h"]) == "/h/.cache/vessel")
    }

    @Test func aCacheThatCannotBeCreatedSaysWhere() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let file = try dir.write("file", [1])
        #expect(throws: VesselError.self) { try BlobCache(root: "\(file)/cache") }
    }

    @Test func anInsertedBlobIsReadOnlyAndFound() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let bytes: [UInt8] = Array("weights".utf8)
        let (cache, digest, path) = try cacheWith(bytes, in: dir)
        #expect(path == cache.path(of: digest))
        #expect(FileManager.default.contents(atPath: path) == Data(bytes))
        #expect(!FileManager.default.fileExists(atPath: cache.partialPath(of: digest)), "moved, not copied")
        let mode = try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o444)
        #expect(FileManager.default.fileExists(atPath: path + ".stat"))
        #expect(cache.lookup(digest, size: UInt64(bytes.count), verify: false) == path)
        #expect(cache.lookup(digest, size: UInt64(bytes.count), verify: true) == path)
        #expect(FileManager.default.fileExists(atPath: path), "an intact blob stays")
    }

    @Test func aMissingBlobIsNotFound() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let cache = try BlobCache(root: "\(dir.path)/cache")
        #expect(cache.lookup(Self.digest([9]), size: 1, verify: false) == nil)
        #expect(cache.lookup(Self.digest([9]), size: 1, verify: true) == nil)
    }

    /// A pulled file is a hard link to the cached one: an edit in place changes the shared
    /// inode, and the next lookup, even without `verify`, re-hashes and evicts it.
    @Test func aBlobEditedInPlaceIsEvictedWithoutVerify() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let bytes: [UInt8] = Array(repeating: 1, count: 4096)
        let (cache, digest, path) = try cacheWith(bytes, in: dir)
        let pulled = "\(dir.path)/pulled.bin"
        try FileManager.default.linkItem(atPath: path, toPath: pulled)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: pulled)
        let handle = try #require(FileHandle(forWritingAtPath: pulled))
        try handle.write(contentsOf: Data([2]))
        try handle.close()
        #expect(cache.lookup(digest, size: UInt64(bytes.count), verify: false) == nil)
        #expect(!FileManager.default.fileExists(atPath: path) && !FileManager.default.fileExists(atPath: path + ".stat"))
    }

    /// Same inode, same size, same mtime: only `verify` re-reads the bytes.
    @Test func onlyVerifyCatchesBytesChangedBehindTheRecordedStat() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let bytes: [UInt8] = Array(repeating: 1, count: 64)
        let (cache, digest, path) = try cacheWith(bytes, in: dir)
        let modified = try #require(FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.write(contentsOf: Data([2]))
        try handle.close()
        try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: path)
        // The recorded stat still matches (mtime restored), so the cheap path trusts it…
        if cache.lookup(digest, size: UInt64(bytes.count), verify: false) == path {
            // …and verify does not.
            #expect(cache.lookup(digest, size: UInt64(bytes.count), verify: true) == nil)
            #expect(!FileManager.default.fileExists(atPath: path))
        } else {
            // The file system kept a finer mtime than Date carries: the edit was seen anyway.
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test func aLookupWithTheWrongSizeRehashesAndRefuses() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let bytes: [UInt8] = Array("config".utf8)
        let (cache, digest, _) = try cacheWith(bytes, in: dir)
        #expect(cache.lookup(digest, size: UInt64(bytes.count) + 1, verify: false) == nil)
    }

    @Test func aLostStatIsRecordedAgainAfterAHash() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let bytes: [UInt8] = Array("tokenizer".utf8)
        let (cache, digest, path) = try cacheWith(bytes, in: dir)
        try FileManager.default.removeItem(atPath: path + ".stat")
        #expect(cache.lookup(digest, size: UInt64(bytes.count), verify: false) == path)
        let stat = try String(contentsOfFile: path + ".stat", encoding: .utf8)
        #expect(stat == BlobCache.fingerprint(path))
        #expect(stat.split(separator: " ").count == 3, "inode, size, mtime")
        #expect(stat.split(separator: " ")[1] == Substring(String(bytes.count)))
    }

    @Test func somethingThatIsNotAFileIsNotABlob() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let cache = try BlobCache(root: "\(dir.path)/cache")
        let digest = Self.digest([7])
        try FileManager.default.createDirectory(atPath: cache.path(of: digest), withIntermediateDirectories: true)
        #expect(BlobCache.fingerprint(cache.path(of: digest)) == nil)
        #expect(cache.lookup(digest, size: 0, verify: false) == nil)
    }
}
