import Foundation
import VesselCore

/// Where the client talks to and with which token: flag > environment (`VESSEL_SERVER`,
/// `VESSEL_TOKEN`) > config file (`$XDG_CONFIG_HOME/vessel/config.toml`, mode 0600).
public struct ClientConfig: Sendable, Equatable {
    public var server: String
    public var token: String?
    /// Public key files `vessel pull` verifies a version's signature with before it downloads
    /// anything (`VESSEL_VERIFY_KEYS` or the config file's `verify_keys`, comma-separated;
    /// `--verify-key` flags replace them). Empty: no signature is required.
    public var verifyKeys: [String]
    /// How an `https://` server is checked and which client certificate is presented (docs/tls.md).
    public var tls: ClientTLS

    public static let defaultServer = "http://127.0.0.1:8750"

    public init(server: String, token: String?, verifyKeys: [String] = [], tls: ClientTLS = ClientTLS()) {
        self.server = server
        self.token = token
        self.verifyKeys = verifyKeys
        self.tls = tls
    }

    /// Resolves the configuration in precedence order. `tlsFlags` holds what was given on the
    /// command line (`--ca-cert`, `--client-cert`, `--client-key`, `--insecure-skip-verify`);
    /// each missing one comes from `VESSEL_CA_CERT`, `VESSEL_CLIENT_CERT`, `VESSEL_CLIENT_KEY`,
    /// `VESSEL_INSECURE_SKIP_VERIFY=1`, then the config file's `ca_cert`, `client_cert`, `client_key`.
    /// Skipping verification prints `ClientTLS.insecureWarning` on stderr, every time.
    /// - Throws: `invalid_argument` for a malformed config file or an unreadable certificate or key.
    public static func resolve(serverFlag: String?, tlsFlags: ClientTLS = ClientTLS(), environment: [String: String] = ProcessInfo.processInfo.environment) throws(VesselError) -> ClientConfig {
        let file = try ConfigFile.load(path: ConfigFile.path(environment: environment))
        let server = serverFlag ?? environment["VESSEL_SERVER"] ?? file["server"] ?? defaultServer
        let token = environment["VESSEL_TOKEN"] ?? file["token"]
        let keys = (environment["VESSEL_VERIFY_KEYS"] ?? file["verify_keys"] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        func value(_ flag: String?, _ variable: String, _ key: String) -> String? {
            (flag ?? environment[variable] ?? file[key]).flatMap { $0.isEmpty ? nil : $0 }
        }
        var tls = ClientTLS(
            caCertPath: value(tlsFlags.caCertPath, "VESSEL_CA_CERT", "ca_cert"),
            clientCertPath: value(tlsFlags.clientCertPath, "VESSEL_CLIENT_CERT", "client_cert"),
            clientKeyPath: value(tlsFlags.clientKeyPath, "VESSEL_CLIENT_KEY", "client_key")
        )
        tls.insecureSkipVerify = tlsFlags.insecureSkipVerify || ["1", "true", "yes"].contains(environment["VESSEL_INSECURE_SKIP_VERIFY"]?.lowercased() ?? "")
        try tls.validate()
        if tls.insecureSkipVerify { FileHandle.standardError.write(Data((ClientTLS.insecureWarning + "\n").utf8)) }
        return ClientConfig(server: server.hasSuffix("/") ? String(server.dropLast()) : server, token: token, verifyKeys: keys, tls: tls)
    }
}

/// The config file: a small subset of TOML (`key = "string"` lines and `#` comments), all
/// Vessel writes. Written by hand: the only TOML package available builds a C++ library,
/// which is a lot of build time for a few string keys.
public enum ConfigFile {
    public static func path(environment: [String: String]) -> String {
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.config"
        return "\(base)/vessel/config.toml"
    }

    public static func load(path: String) throws(VesselError) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var values: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw .invalidArgument("\(path):\(number + 1): expected key = \"value\"")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\""), !value.dropFirst().dropLast().contains("\"") else {
                throw .invalidArgument("\(path):\(number + 1): values must be double-quoted strings")
            }
            values[key] = String(value.dropFirst().dropLast())
        }
        return values
    }

    /// Writes `values` with mode 0600, creating the folder.
    public static func save(_ values: [String: String], path: String) throws(VesselError) {
        let dir = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch { throw .invalidArgument("cannot create \(dir)") }
        var text = "# Vessel client configuration (written by `vessel login`)\n"
        for key in values.keys.sorted() {
            guard let value = values[key], !value.contains("\""), !value.contains("\n") else {
                throw .invalidArgument("config value for \(key) cannot contain quotes or newlines")
            }
            text += "\(key) = \"\(value)\"\n"
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .invalidArgument("cannot write \(path)") }
        defer { close(fd) }
        fchmod(fd, 0o600)
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw .invalidArgument("cannot write \(path)")
        }
    }
}
