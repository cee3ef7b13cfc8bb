import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VesselCore

/// Multipart uploads.
extension S3Client {
    /// The deadline of calls whose work the store does before it answers, in proportion to an
    /// object's size (a copy, assembling a multipart upload): not the call timeout.
    static let serverSideWork: TimeAmount = .minutes(30)

    public func createMultipartUpload(_ key: String) async throws -> String {
        let body = try await sendCollect(request(.POST, key: key, query: [("uploads", "")], headers: [("content-type", "application/octet-stream")]), action: "start a multipart upload")
        guard let id = try parse(body, action: "start a multipart upload").value("UploadId"), !id.isEmpty else {
            throw VesselError.internalError("object storage started a multipart upload without an id")
        }
        return id
    }

    /// Uploads one part; returns its ETag. `payloadHash` is the part's SHA-256 hex when its
    /// bytes are in memory, `UNSIGNED-PAYLOAD` when they stream. `bytes`: the size of a body in
    /// memory, which bounds the call (`transferTimeout`); a streamed body comes at the pace of
    /// the client sending it, so its call is bounded only by two hours.
    public func uploadPart(_ key: String, uploadID: String, number: Int, body: HTTPClientRequest.Body, payloadHash: String, bytes: Int? = nil) async throws -> String {
        var request = request(.PUT, key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)], payloadHash: payloadHash)
        request.body = body
        let response = try await send(request, timeout: bytes.map { transferTimeout(bytes: $0) } ?? .hours(2), replayable: payloadHash != SigV4Signer.unsignedPayload, action: "upload a part")
        let etag = Self.unquote(response.headers.first(name: "etag") ?? "")
        _ = try? await response.body.collect(upTo: 1 << 20)
        return etag
    }

    /// Copies `range` of `source` into a part (for copies over 5 GiB); returns its ETag.
    public func uploadPartCopy(_ key: String, uploadID: String, number: Int, source: String, range: Range<UInt64>) async throws -> String {
        let headers = [
            ("x-amz-copy-source", SigV4Signer.canonicalURI(path(source))),
            ("x-amz-copy-source-range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)"),
        ]
        let body = try await sendCollect(request(.PUT, key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)], headers: headers), timeout: Self.serverSideWork, action: "copy a part")
        return Self.unquote(try parse(body, action: "copy a part").value("ETag") ?? "")
    }

    public struct Part: Sendable, Equatable {
        public var number: Int
        public var etag: String
        public var size: UInt64
    }

    /// Completes an upload from its parts (ascending). RGW 16 answers with an empty ETag, so
    /// nothing is read from the answer except an error document.
    public func completeMultipartUpload(_ key: String, uploadID: String, parts: [Part]) async throws {
        let xml = "<CompleteMultipartUpload>" + parts.map {
            "<Part><PartNumber>\($0.number)</PartNumber><ETag>\"\(S3XML.escape($0.etag))\"</ETag></Part>"
        }.joined() + "</CompleteMultipartUpload>"
        let bytes = ByteBuffer(string: xml)
        let hash = Hex.encode(SHA256Hasher.hash(bytes))
        var request = request(.POST, key: key, query: [("uploadId", uploadID)], headers: [("content-type", "application/xml")], payloadHash: hash)
        request.body = .bytes(bytes)
        let body = try await sendCollect(request, timeout: Self.serverSideWork, action: "complete a multipart upload")
        if let answer = try? S3XML.parse(body), answer.name == "Error" {
            throw S3Failure(status: 500, body: body).vesselError(action: "complete a multipart upload", location: location)
        }
    }

    /// Aborts an upload; an unknown upload is not an error.
    public func abortMultipartUpload(_ key: String, uploadID: String) async throws {
        _ = try await sendCollect(request(.DELETE, key: key, query: [("uploadId", uploadID)]), expect: [200, 204, 404], action: "abort a multipart upload")
    }

    /// The parts of an upload, ascending. - Throws: `not_found` for an unknown upload.
    public func listParts(_ key: String, uploadID: String) async throws -> [Part] {
        var parts: [Part] = []
        var marker: String?
        repeat {
            var query = [("uploadId", uploadID), ("max-parts", "1000")]
            if let marker { query.append(("part-number-marker", marker)) }
            let xml = try parse(try await sendCollect(request(.GET, key: key, query: query), action: "list the parts of an upload"), action: "list the parts of an upload")
            for part in xml.all("Part") {
                guard let number = part.value("PartNumber").flatMap({ Int($0) }) else { continue }
                parts.append(Part(number: number, etag: Self.unquote(part.value("ETag") ?? ""), size: part.value("Size").flatMap { UInt64($0) } ?? 0))
            }
            marker = xml.value("IsTruncated") == "true" ? xml.value("NextPartNumberMarker") : nil
        } while marker != nil
        return parts.sorted { $0.number < $1.number }
    }

    public struct Upload: Sendable, Equatable {
        public var key: String
        public var uploadID: String
        public var initiated: String
    }

    /// In-progress multipart uploads whose keys start with `prefix`.
    public func listMultipartUploads(prefix: String) async throws -> [Upload] {
        var uploads: [Upload] = []
        var markers: (String, String)?
        repeat {
            var query = [("uploads", ""), ("prefix", prefix)]
            if let markers { query += [("key-marker", markers.0), ("upload-id-marker", markers.1)] }
            let xml = try parse(try await sendCollect(request(.GET, key: nil, query: query), action: "list multipart uploads"), action: "list multipart uploads")
            uploads += xml.all("Upload").map { Upload(key: $0.value("Key") ?? "", uploadID: $0.value("UploadId") ?? "", initiated: $0.value("Initiated") ?? "") }
            if xml.value("IsTruncated") == "true", let key = xml.value("NextKeyMarker"), let id = xml.value("NextUploadIdMarker") {
                markers = (key, id)
            } else {
                markers = nil
            }
        } while markers != nil
        return uploads
    }
}

import struct Crypto.SHA256

enum SHA256Hasher {
    static func hash(_ buffer: ByteBuffer) -> [UInt8] {
        buffer.withUnsafeReadableBytes { Array(SHA256.hash(data: $0)) }
    }
}
