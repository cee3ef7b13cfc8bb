import Logging

/// How `vessel serve` is configured.
public struct ServerOptions: Sendable {
    /// Where SQLite metadata (`metadata.sqlite`), blobs (`blobs/`) and `admin-token` live.
    public var dataDir: String
    public var host: String
    public var port: Int
    /// `VESSEL_ADMIN_TOKEN`: ensured as a token of `admin` on every start.
    public var adminToken: String?

    public init(dataDir: String = "./vessel-data", host: String = "127.0.0.1", port: Int = 8750, adminToken: String? = nil) {
        self.dataDir = dataDir
        self.host = host
        self.port = port
        self.adminToken = adminToken
    }
}
