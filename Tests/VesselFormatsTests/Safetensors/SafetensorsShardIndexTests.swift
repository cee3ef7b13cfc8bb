import Foundation
import Testing
@testable import VesselFormats

@Suite struct SafetensorsShardIndexTests {
    static func header(_ tensors: [(String, UInt64)]) throws -> SafetensorsHeader {
        var writer = SafetensorsWriter()
        for (name, size) in tensors {
            try writer.addTensor(name: name, dtype: .u8, shape: [size], bytes: [UInt8](repeating: 1, count: Int(size)))
        }
        return try SafetensorsHeader.parse(fileBytes: try writer.serialize())
    }

    static func index(_ json: String) throws -> SafetensorsShardIndex {
        try SafetensorsShardIndex.parse(Array(json.utf8))
    }

    let shards: [String: SafetensorsHeader]
    let good = """
        {"metadata": {"total_size": 10, "total_parameters": 10},
         "weight_map": {"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"}}
        """

    init() throws {
        shards = [
            "s1.safetensors": try Self.header([("a", 2), ("b", 3)]),
            "s2.safetensors": try Self.header([("c", 5)]),
        ]
    }

    @Test func consistentIndexValidates() throws {
        let index = try Self.index(good)
        #expect(index.totalSize == 10)
        #expect(index.shardNames == ["s1.safetensors", "s2.safetensors"])
        try index.validate(shards: shards)
    }

    @Test func missingShard() throws {
        var partial = shards
        partial["s2.safetensors"] = nil
        #expect(throws: SafetensorsShardIndexError.shardMissing(shard: "s2.safetensors")) {
            try Self.index(good).validate(shards: partial)
        }
    }

    @Test func tensorMissingFromEveryShard() throws {
        let json = good.replacingOccurrences(of: "\"c\": \"s2.safetensors\"", with: "\"c\": \"s2.safetensors\", \"d\": \"s2.safetensors\"")
        #expect(throws: SafetensorsShardIndexError.tensorMissing(tensor: "d", shard: "s2.safetensors")) {
            try Self.index(json).validate(shards: shards)
        }
    }

    @Test func tensorInWrongShard() throws {
        let json = good.replacingOccurrences(of: "\"b\": \"s1.safetensors\"", with: "\"b\": \"s2.safetensors\"")
        #expect(throws: SafetensorsShardIndexError.tensorInWrongShard(tensor: "b", expected: "s2.safetensors", actual: "s1.safetensors")) {
            try Self.index(json).validate(shards: shards)
        }
    }

    @Test func tensorInTwoShards() throws {
        var twice = shards
        twice["s2.safetensors"] = try Self.header([("c", 5), ("a", 2)])
        #expect(throws: SafetensorsShardIndexError.tensorInMultipleShards(tensor: "a", shards: ["s1.safetensors", "s2.safetensors"])) {
            try Self.index(good).validate(shards: twice)
        }
    }

    @Test func shardHoldsUnlistedTensor() throws {
        var extra = shards
        extra["s2.safetensors"] = try Self.header([("c", 5), ("x", 1)])
        #expect(throws: SafetensorsShardIndexError.unlistedTensor(tensor: "x", shard: "s2.safetensors")) {
            try Self.index(good).validate(shards: extra)
        }
    }

    @Test func totalSizeMismatch() throws {
        let json = good.replacingOccurrences(of: "\"total_size\": 10", with: "\"total_size\": 11")
        #expect(throws: SafetensorsShardIndexError.totalSizeMismatch(declared: 11, actual: 10)) {
            try Self.index(json).validate(shards: shards)
        }
    }

    @Test(arguments: ["../s1.safetensors", "/abs/s1.safetensors", "sub/s1.safetensors", "..", ".", "", "a\\\\b", "a\\u0000b"])
    func unsafeShardNames(name: String) {
        let json = "{\"metadata\":{\"total_size\":0},\"weight_map\":{\"a\":\"\(name)\"}}"
        #expect { try Self.index(json) } throws: { error in
            (error as? SafetensorsShardIndexError)?.code == "invalid_shard_name"
        }
    }

    @Test func duplicateTensorInWeightMap() {
        let json = "{\"metadata\":{\"total_size\":0},\"weight_map\":{\"a\":\"s.safetensors\",\"a\":\"s.safetensors\"}}"
        #expect(throws: SafetensorsShardIndexError.duplicateKey("a")) { try Self.index(json) }
    }

    @Test(arguments: [
        "[]", "{}", "{\"weight_map\":{}}", "{\"metadata\":{},\"weight_map\":{}}",
        "{\"metadata\":{\"total_size\":1.5},\"weight_map\":{}}", "{\"metadata\":{\"total_size\":-1},\"weight_map\":{}}",
        "{\"metadata\":{\"total_size\":\"1\"},\"weight_map\":{}}", "{\"metadata\":{\"total_size\":1},\"weight_map\":[]}",
        "{\"metadata\":{\"total_size\":1},\"weight_map\":{\"a\":1}}", "{\"metadata\":{\"total_size\":1}}",
        "{\"metadata\":{\"total_size\":1},\"weight_map\":{},\"extra\":1}", "{\"metadata\":{\"total_size\":1},\"weight_map\":{}} x",
        "{\"metadata\":[],\"weight_map\":{}}", "\u{FEFF}{}",
    ])
    func malformedIndex(json: String) {
        #expect { try Self.index(json) } throws: { error in
            (error as? SafetensorsShardIndexError)?.code == "invalid_index"
        }
    }

    @Test func indexNotUTF8() {
        #expect { try SafetensorsShardIndex.parse([0x7B, 0xFF, 0x7D]) } throws: { error in
            (error as? SafetensorsShardIndexError)?.code == "invalid_index"
        }
    }

    @Test func errorCodesAreDistinct() {
        let errors: [SafetensorsShardIndexError] = [
            .indexTooLarge(size: 1), .invalidIndex(reason: "r"), .duplicateKey("k"), .invalidShardName("n"),
            .shardMissing(shard: "s"), .tensorMissing(tensor: "t", shard: "s"),
            .tensorInWrongShard(tensor: "t", expected: "e", actual: "a"), .tensorInMultipleShards(tensor: "t", shards: ["a", "b"]),
            .unlistedTensor(tensor: "t", shard: "s"), .totalSizeMismatch(declared: 1, actual: 2), .ioError(operation: "o", reason: "r"),
        ]
        #expect(Set(errors.map(\.code)).count == errors.count)
        #expect(errors.allSatisfy { !$0.message.isEmpty })
    }
}
