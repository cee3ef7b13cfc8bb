import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VesselCore

/// Bucket and object calls.
extension S3Client {
    /// Whether the bucket exists and the credentials work: `GetBucketVersioning`, which answers
    /// with an XML error (unlike `HEAD`), so refused credentials are named. Returns the
    /// versioning status (`Enabled`, `Suspended`, or nil when never enabled).
    /// - Throws: `not_found` when the bucket is missing; `unavailable` for refused credentials
    ///   or an unreachable endpoint.
    public func bucketVersioning() async throws -> String? {
        let request = request(.GET, key: nil, query: [("versioning", "")])
        do {
            let body = try await sendCollect(request, action: "read the bucket's versioning")
            let status = try parse(body, action: "read the bucket's versioning").value("Status")
            return status?.isEmpty == false ? status : nil
        } catch let error as VesselError where error.message.contains("does not exist at") {
            throw VesselError.notFound(error.message)
        }
    }

    public func createBucket() async throws {
        _ = try await sendCollect(request(.PUT, key: nil), expect: [200, 409], action: "create the bucket")
    }

    /// Deletes the (empty) bucket; a missing bucket is not an error.
    public func deleteBucket() async throws {
        _ = try await sendCollect(request(.DELETE, key: nil), expect: [200, 204, 404], action: "delete the bucket")
    }

    public struct ObjectInfo: Sendable, Equatable {
        public var key: String
        public var size: UInt64
        public var etag: String
        /// On a versioned bucket, the version `HEAD` found.
        public var versionID: String? = nil
    }

    /// The object's size and ETag, or nil when it does not exist.
    public func headObject(_ key: String) async throws -> ObjectInfo? {
        let response = try await send(request(.HEAD, key: key), expect: [200, 404], action: "look up an object")
        guard response.status.code == 200 else { return nil }
        let size = response.headers.first(name: "content-length").flatMap { UInt64($0) } ?? 0
        let version = response.headers.first(name: "x-amz-version-id").flatMap { $0.isEmpty || $0 == "null" ? nil : $0 }
        return ObjectInfo(key: key, size: size, etag: Self.unquote(response.headers.first(name: "etag") ?? ""), versionID: version)
    }

    /// Stores a small object whose bytes are in memory, signed with their SHA-256 (so the
    /// server checks them).
    public func putObject(_ key: String, body: ByteBuffer, sha256Hex: String) async throws {
        var request = request(.PUT, key: key, headers: [("content-type", "application/octet-stream")], payloadHash: sha256Hex)
        request.body = .bytes(body)
        _ = try await sendCollect(request, timeout: transferTimeout(bytes: body.readableBytes), action: "store an object")
    }

    /// The bytes of `range` (all when nil) as a stream. - Throws: `not_found`, `range_not_satisfiable`.
    public func getObject(_ key: String, range: Range<UInt64>? = nil) async throws -> HTTPClientResponse {
        var headers: [(String, String)] = []
        if let range {
            precondition(!range.isEmpty, "an empty range cannot be asked of S3")
            headers.append(("range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)"))
        }
        // The deadline covers the answer's head only: the body streams for as long as it takes.
        return try await send(request(.GET, key: key, headers: headers), expect: [200, 206], action: "read an object")
    }

    /// Deletes an object; a missing object is not an error. With `versionID` that version is
    /// removed for good (no delete marker on a versioned bucket).
    public func deleteObject(_ key: String, versionID: String? = nil) async throws {
        let query = versionID.map { [("versionId", $0)] } ?? []
        _ = try await sendCollect(request(.DELETE, key: key, query: query), expect: [200, 204, 404], action: "delete an object")
    }

    /// Server-side copy of an object up to 5 GiB (the store copies before it answers, so the
    /// call is not bounded by the call timeout).
    public func copyObject(from source: String, to key: String) async throws {
        let copySource = SigV4Signer.canonicalURI(path(source))
        let body = try await sendCollect(request(.PUT, key: key, headers: [("x-amz-copy-source", copySource)]), timeout: Self.serverSideWork, action: "copy an object")
        // S3 may answer 200 with an error document after a long copy.
        if let xml = try? S3XML.parse(body), xml.name == "Error" {
            throw S3Failure(status: 500, body: body).vesselError(action: "copy an object", location: location)
        }
    }

    public struct ListPage: Sendable {
        public var objects: [ObjectInfo]
        public var nextToken: String?
    }

    /// One page of `ListObjectsV2` under `prefix`.
    public func listObjects(prefix: String, token: String? = nil, maxKeys: Int = 1000) async throws -> ListPage {
        var query = [("list-type", "2"), ("prefix", prefix), ("max-keys", String(maxKeys))]
        if let token { query.append(("continuation-token", token)) }
        let xml = try parse(try await sendCollect(request(.GET, key: nil, query: query), action: "list objects"), action: "list objects")
        let objects = xml.all("Contents").map { item in
            ObjectInfo(key: item.value("Key") ?? "", size: item.value("Size").flatMap { UInt64($0) } ?? 0, etag: Self.unquote(item.value("ETag") ?? ""))
        }
        let truncated = xml.value("IsTruncated") == "true"
        return ListPage(objects: objects, nextToken: truncated ? xml.value("NextContinuationToken") : nil)
    }

    /// Every object under `prefix`, following continuation tokens.
    public func listAllObjects(prefix: String) async throws -> [ObjectInfo] {
        var all: [ObjectInfo] = []
        var token: String?
        repeat {
            let page = try await listObjects(prefix: prefix, token: token)
            all += page.objects
            token = page.nextToken
        } while token != nil
        return all
    }

    /// Every version and delete marker under `prefix` (key, version id), for removing test data
    /// from a versioned bucket for good.
    public func listObjectVersions(prefix: String) async throws -> [(key: String, versionID: String)] {
        var all: [(key: String, versionID: String)] = []
        var markers: (String, String)?
        repeat {
            var query = [("versions", ""), ("prefix", prefix)]
            if let markers { query += [("key-marker", markers.0), ("version-id-marker", markers.1)] }
            let xml = try parse(try await sendCollect(request(.GET, key: nil, query: query), action: "list object versions"), action: "list object versions")
            for item in xml.children where item.name == "Version" || item.name == "DeleteMarker" {
                all.append((item.value("Key") ?? "", item.value("VersionId") ?? "null"))
            }
            if xml.value("IsTruncated") == "true", let key = xml.value("NextKeyMarker"), let id = xml.value("NextVersionIdMarker") {
                markers = (key, id)
            } else {
                markers = nil
            }
        } while markers != nil
        return all
    }

    static func unquote(_ etag: String) -> String {
        etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }
}
