import AsyncHTTPClient
import VesselCore

extension Downloader {
    /// GETs the blob (or `range` of it), following a redirect to object storage.
    func get(model: ModelName, digest: Digest, range: Range<UInt64>?) async throws -> HTTPClientResponse {
        let header = range.map(Self.rangeHeader)
        var request = api.request(.GET, "\(model.apiPath)/blobs/\(digest)")
        if let header { request.headers.add(name: "Range", value: header) }
        let response = try await api.send(request)
        if Self.redirectStatuses.contains(response.status.code) {
            return try await api.followStorageRedirect(response, range: header)
        }
        return response
    }

    /// The `Range` header value for `range` (HTTP ranges name their last byte, not the end).
    static func rangeHeader(_ range: Range<UInt64>) -> String { "bytes=\(range.lowerBound)-\(range.upperBound - 1)" }

    /// The answers that send the download to object storage.
    static let redirectStatuses: Set<UInt> = [301, 302, 303, 307, 308]
}
