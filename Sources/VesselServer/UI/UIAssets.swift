import struct Crypto.SHA256
import Hummingbird
import VesselCore

/// The web UI's static assets, compiled into the binary and served under a name that holds the
/// first 16 hex digits of their SHA-256, so a page always names the exact bytes it was written
/// for and browsers may keep them for a year (`immutable`).
struct UIAssets: Sendable {
    struct Asset: Sendable {
        let path: String
        let contentType: String
        let body: String
    }

    let stylesheet: Asset
    /// The deployment page's script (`UIScripts.rollout`).
    let rollout: Asset

    init() {
        stylesheet = Self.asset(stem: "vessel", ext: "css", contentType: "text/css; charset=utf-8", body: UIStylesheet.css)
        rollout = Self.asset(stem: "rollout", ext: "js", contentType: "text/javascript; charset=utf-8", body: UIScripts.rollout)
    }

    var all: [Asset] { [stylesheet, rollout] }

    static func asset(stem: String, ext: String, contentType: String, body: String) -> Asset {
        let hex = Digest(bytes: SHA256.hash(data: Array(body.utf8))).hex
        return Asset(path: "/ui/assets/\(stem).\(hex.prefix(16)).\(ext)", contentType: contentType, body: body)
    }

    func response(_ asset: Asset) -> Response {
        Response(status: .ok, headers: [
            .contentType: asset.contentType,
            .cacheControl: "public, max-age=31536000, immutable",
            .eTag: "\"\(asset.path.split(separator: ".").dropLast().last ?? "")\"",
        ], body: .init(byteBuffer: ByteBuffer(string: asset.body)))
    }
}
