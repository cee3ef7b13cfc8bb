import Foundation
import VesselCore

/// Where blobs live in S3-compatible storage, parsed from
/// `s3://bucket/prefix?endpoint=http://127.0.0.1:7480&region=us-east-1`.
///
/// Requests are path-style (`<endpoint>/<bucket>/<key>`), which every S3-compatible server
/// accepts. Without `endpoint` the AWS endpoint of the region is used.
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
    public var bucket: String
    /// The key prefix without leading or trailing `/` (empty for the bucket's root).
    public var prefix: String
    /// `http://host:port` or `https://host[:port]`, without a trailing `/`.
    public var endpoint: String
    public var region: String
    /// PEM CA certificate(s) trusted for an `https://` endpoint besides the system store
    /// (`vessel serve --ca-cert`, docs/tls.md); not part of the URL.
    public var caCertPath: String? = nil

    public init(bucket: String, prefix: String = "", endpoint: String, region: String = "us-east-1") {
        self.bucket = bucket
        self.prefix = prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.region = region
    }

    /// - Throws: `invalid_argument` naming what is wrong.
    public init(parsing text: String) throws(VesselError) {
        guard text.hasPrefix("s3://"), let components = URLComponents(string: text) else {
            throw .invalidArgument("storage '\(text.prefix(200))' must look like s3://bucket/prefix?endpoint=http://host:port&region=us-east-1")
        }
        let bucket = components.host ?? ""
        let validBucket = bucket.count >= 3 && bucket.count <= 63 && bucket.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2E
        }
        guard validBucket else {
            throw .invalidArgument("'\(bucket.prefix(80))' is not a valid S3 bucket name (3-63 characters: lowercase letters, digits, '.', '-')")
        }
        var endpoint: String?
        var region = "us-east-1"
        for item in components.queryItems ?? [] {
            switch item.name {
            case "endpoint": endpoint = item.value
            case "region": region = item.value ?? region
            default: throw .invalidArgument("unknown storage option '\(item.name.prefix(40))' (known: endpoint, region)")
            }
        }
        let resolved = endpoint ?? "https://s3.\(region).amazonaws.com"
        guard let url = URLComponents(string: resolved), url.scheme == "http" || url.scheme == "https", url.host?.isEmpty == false,
              url.path.isEmpty || url.path == "/", url.query == nil
        else {
            throw .invalidArgument("storage endpoint '\(resolved.prefix(200))' must be http://host[:port] or https://host[:port]")
        }
        self.init(bucket: bucket, prefix: components.path, endpoint: resolved, region: region)
    }

    /// The `host[:port]` the requests go to (the signed `host` header).
    public var hostHeader: String {
        guard let url = URLComponents(string: endpoint), let host = url.host else { return "" }
        if let port = url.port, !(url.scheme == "http" && port == 80), !(url.scheme == "https" && port == 443) {
            return "\(host):\(port)"
        }
        return host
    }

    /// The full key of a path under the prefix.
    public func key(_ path: String) -> String { prefix.isEmpty ? path : "\(prefix)/\(path)" }

    public var description: String { "s3://\(bucket)\(prefix.isEmpty ? "" : "/" + prefix) at \(endpoint)" }
}
