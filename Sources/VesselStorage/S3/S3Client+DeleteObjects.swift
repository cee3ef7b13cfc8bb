import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import VesselCore

extension S3Client {
    /// The most keys one `DeleteObjects` request may name.
    public static let deleteBatchLimit = 1000

    /// `DeleteObjects` (quiet) of up to `deleteBatchLimit` keys, each at a version (`"null"`
    /// for the unversioned object): with a version id the version is removed for good, no
    /// delete marker is left. Returns how many were deleted.
    /// - Throws: `invalid_argument` for more than 1,000 keys; `unavailable` when S3 refuses
    ///   any of them (naming the first).
    public func deleteObjects(_ targets: [(key: String, versionID: String)]) async throws -> Int {
        guard !targets.isEmpty else { return 0 }
        guard targets.count <= Self.deleteBatchLimit else {
            throw VesselError.invalidArgument("DeleteObjects takes at most \(Self.deleteBatchLimit) keys, not \(targets.count)")
        }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>"
        for target in targets {
            xml += "<Object><Key>\(Self.escapeXML(target.key))</Key>"
            if target.versionID != "null" { xml += "<VersionId>\(Self.escapeXML(target.versionID))</VersionId>" }
            xml += "</Object>"
        }
        xml += "</Delete>"
        let body = Array(xml.utf8)
        let sha = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        let md5 = Data(Insecure.MD5.hash(data: body)).base64EncodedString()
        var request = request(.POST, key: nil, query: [("delete", "")],
                              headers: [("content-md5", md5), ("content-type", "application/xml")], payloadHash: sha)
        request.body = .bytes(ByteBuffer(bytes: body))
        let answer = try parse(try await sendCollect(request, action: "delete objects"), action: "delete objects")
        let errors = answer.all("Error")
        if let first = errors.first {
            throw VesselError(.unavailable, "S3 refused to delete \(errors.count) of \(targets.count) object versions (first: \(first.value("Key") ?? "?"): \(first.value("Code") ?? "?") \(first.value("Message") ?? ""))")
        }
        return targets.count
    }

    static func escapeXML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

extension S3Client {
    /// `PutBucketVersioning`: `Enabled` or `Suspended` (tests make versioned buckets with it).
    public func setBucketVersioning(_ status: String) async throws {
        let body = Array("<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>\(status)</Status></VersioningConfiguration>".utf8)
        let sha = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        let md5 = Data(Insecure.MD5.hash(data: body)).base64EncodedString()
        var request = request(.PUT, key: nil, query: [("versioning", "")], headers: [("content-md5", md5)], payloadHash: sha)
        request.body = .bytes(ByteBuffer(bytes: body))
        _ = try await sendCollect(request, action: "set the bucket's versioning")
    }
}
