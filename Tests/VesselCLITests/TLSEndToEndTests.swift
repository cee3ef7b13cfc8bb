import Foundation
import Testing
import VesselClient
import VesselTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// HTTPS and mutual TLS (issue 33, docs/tls.md) with the built `vessel`: a throwaway PKI made by
/// scripts/tls_test_pki.sh (openssl) under a temporary folder for each test, never committed.
@Suite(.serialized) struct TLSEndToEndTests {
    /// The PKI's files.
    struct PKI {
        let dir: String
        func path(_ name: String) -> String { "\(dir)/\(name)" }
        /// The server's arguments for certificate `name` (`server`, `expired`, …).
        func serve(_ name: String = "server") -> [String] { ["--tls-cert", path("\(name).pem"), "--tls-key", path("\(name).key")] }
        var trustingCA: ClientTLS { ClientTLS(caCertPath: path("ca.pem")) }
        func withClient(_ name: String) -> ClientTLS { ClientTLS(caCertPath: path("ca.pem"), clientCertPath: path("\(name).pem"), clientKeyPath: path("\(name).key")) }

        static func make() async throws -> PKI {
            let dir = TempDir.make("vessel-pki")
            let made = try await runProcess("/bin/bash", [CLI.packageRoot.appendingPathComponent("scripts/tls_test_pki.sh").path, dir])
            guard made.status == 0 else { throw TestFailure("tls_test_pki.sh failed: \(made.stderr)") }
            return PKI(dir: dir)
        }
    }

    /// The serial number of the certificate a new connection to `port` is served, by openssl.
    static func servedSerial(port: Int) async throws -> String {
        let shown = try await runProcess("/bin/sh", ["-c", "openssl s_client -connect 127.0.0.1:\(port) -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -serial"])
        return shown.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func serial(of file: String) async throws -> String {
        try await runProcess("/usr/bin/openssl", ["x509", "-in", file, "-noout", "-serial"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func pushPullAndPromoteOverHTTPSWithAPrivateCA() async throws {
        let pki = try await PKI.make()
        let server = try await ServeProcess(arguments: pki.serve(), clientTLS: pki.trustingCA)
        #expect(server.url.hasPrefix("https://"))
        let model = TempDir.make("vessel-model")
        try TempDir.writeFile("\(model)/weights.bin", count: 8 << 20, seed: 7)
        try TempDir.writeFile("\(model)/config.json", count: 300, seed: 8)
        let push = try await CLI.run(["push", model, "--model", "acme/tls", "--alias", "staging", "--json"], environment: server.env)
        #expect(push.status == 0, "\(push.stderr)")
        let target = TempDir.make("vessel-pull") + "/out"
        let pull = try await CLI.run(["pull", "acme/tls@staging", target, "--cache-dir", TempDir.make("vessel-cache"), "--json"], environment: server.env)
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: "\(model)/weights.bin", andPath: "\(target)/weights.bin"))
        let promote = try await CLI.run(["promote", "acme/tls", "1", "--to", "production", "--json"], environment: server.env)
        #expect(promote.status == 0, "\(promote.stdout)\(promote.stderr)")
        // The CA also comes from the flag and from the config file.
        var bare = server.env
        bare["VESSEL_CA_CERT"] = nil
        let flagged = try await CLI.run(["whoami", "--ca-cert", pki.path("ca.pem")], environment: bare)
        #expect(flagged.status == 0 && flagged.stdout.contains("admin"), "\(flagged.stderr)")
        let home = TempDir.make("vessel-home")
        try FileManager.default.createDirectory(atPath: "\(home)/config/vessel", withIntermediateDirectories: true)
        try "ca_cert = \"\(pki.path("ca.pem"))\"\n".write(toFile: "\(home)/config/vessel/config.toml", atomically: true, encoding: .utf8)
        let configured = try await CLI.run(["whoami"], environment: bare.merging(["XDG_CONFIG_HOME": "\(home)/config"]) { _, new in new })
        #expect(configured.status == 0, "\(configured.stderr)")
        // HTTP/2 is offered by ALPN next to HTTP/1.1.
        let h2 = try await runProcess("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_version}", "--http2", "--cacert", pki.path("ca.pem"), "\(server.url)/healthz"])
        #expect(h2.stdout == "2", "\(h2.stdout) \(h2.stderr)")
        let h1 = try await runProcess("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_version}", "--http1.1", "--cacert", pki.path("ca.pem"), "\(server.url)/healthz"])
        #expect(h1.stdout == "1.1", "\(h1.stdout) \(h1.stderr)")
        // Plain HTTP is not answered as if it were fine.
        let plain = try await CLI.run(["whoami"], environment: server.env.merging(["VESSEL_SERVER": "http://127.0.0.1:\(server.port)"]) { _, new in new })
        #expect(plain.status == 6, "\(plain.stdout)\(plain.stderr)")
    }

    @Test func refusedServerCertificatesNameTheirCause() async throws {
        let pki = try await PKI.make()
        let cases: [(certificate: String, tls: ClientTLS, cause: String)] = [
            ("expired", pki.trustingCA, "has expired"),
            ("wrongname", pki.trustingCA, "name mismatch"),
            ("untrusted", pki.trustingCA, "unknown authority"),
            ("server", ClientTLS(), "unknown authority"),
        ]
        for item in cases {
            // The server itself starts with any certificate; its clients judge it.
            let server = try await ServeProcess(arguments: pki.serve(item.certificate), clientTLS: ClientTLS(insecureSkipVerify: true))
            var env = server.env
            env["VESSEL_CA_CERT"] = item.tls.caCertPath
            let result = try await CLI.run(["whoami"], environment: env)
            #expect(result.status == 6, "\(item.certificate): \(result.stderr)")
            #expect(result.stderr.contains(item.cause), "\(item.certificate): \(result.stderr)")
            let json = try await CLI.run(["models", "--json"], environment: env)
            #expect(json.status == 6 && json.stdout.contains("unavailable") && json.stdout.contains(item.cause), "\(item.certificate): \(json.stdout)")
            // --insecure-skip-verify gets through, and warns.
            let insecure = try await CLI.run(["whoami", "--insecure-skip-verify"], environment: env)
            #expect(insecure.status == 0, "\(insecure.stderr)")
            #expect(insecure.stderr.contains("NOT checked"))
            server.stop()
        }
    }

    @Test func aMissingOrMismatchedPairStopsTheStart() async throws {
        let pki = try await PKI.make()
        let data = TempDir.make("vessel-tls-data")
        let missing = try await CLI.run(["serve", "--data-dir", data, "--port", String(CLI.freePort()), "--tls-cert", pki.path("nothing.pem"), "--tls-key", pki.path("server.key")],
                                        environment: ["VESSEL_ADMIN_TOKEN": ServeProcess.adminToken])
        #expect(missing.status == 2, "\(missing.stderr)")
        #expect(missing.stderr.contains("cannot read the TLS certificate") && missing.stderr.contains("no such file"), "\(missing.stderr)")
        let mismatched = try await CLI.run(["serve", "--data-dir", data, "--port", String(CLI.freePort()), "--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server2.key")],
                                           environment: ["VESSEL_ADMIN_TOKEN": ServeProcess.adminToken])
        #expect(mismatched.status == 2, "\(mismatched.stderr)")
        #expect(mismatched.stderr.contains("does not belong to the certificate"), "\(mismatched.stderr)")
        let notPEM = try await CLI.run(["serve", "--data-dir", data, "--port", String(CLI.freePort()), "--tls-cert", pki.path("server.key"), "--tls-key", pki.path("server.key")],
                                       environment: ["VESSEL_ADMIN_TOKEN": ServeProcess.adminToken])
        #expect(notPEM.status == 2 && notPEM.stderr.contains("is not a PEM certificate"), "\(notPEM.stderr)")
        let alone = try await CLI.run(["serve", "--data-dir", data, "--tls-cert", pki.path("server.pem")], environment: ["VESSEL_ADMIN_TOKEN": ServeProcess.adminToken])
        #expect(alone.status == 2 && alone.stderr.contains("go together"), "\(alone.stderr)")
    }

    @Test func mutualTLSMapsACertificateToItsPrincipal() async throws {
        let pki = try await PKI.make()
        // The admin presents a certificate mapped to nobody: its token decides.
        let server = try await ServeProcess(arguments: pki.serve() + ["--tls-client-ca", pki.path("ca.pem")], clientTLS: pki.withClient("stranger"))
        let added = try await CLI.run(["principal", "add", "ci-bot", "--service", "--cert-subject", "CN=ci-bot, O=Vessel Tests", "--json"], environment: server.env)
        #expect(added.status == 0, "\(added.stdout)\(added.stderr)")
        let granted = try await CLI.run(["grant", "ci-bot", "contributor", "--scope", "acme/*"], environment: server.env)
        #expect(granted.status == 0, "\(granted.stderr)")

        var bot = server.env
        bot["VESSEL_TOKEN"] = nil
        bot["VESSEL_CLIENT_CERT"] = pki.path("client.pem")
        bot["VESSEL_CLIENT_KEY"] = pki.path("client.key")
        let me = try await CLI.run(["whoami", "--json"], environment: bot)
        #expect(me.status == 0, "\(me.stderr)")
        #expect(try me.json()["principal"] as? String == "ci-bot")
        // The bot pushes with its certificate alone; the audit says so.
        let model = TempDir.make("vessel-model")
        try TempDir.writeFile("\(model)/weights.bin", count: 100_000, seed: 3)
        let push = try await CLI.run(["push", model, "--model", "acme/mtls", "--json"], environment: bot)
        #expect(push.status == 0, "\(push.stderr)")
        let audit = try await CLI.run(["audit", "--json"], environment: server.env)
        let entries = try #require(try audit.json()["items"] as? [[String: Any]])
        let create = try #require(entries.last { $0["action"] as? String == "version.create" })
        #expect(create["actor"] as? String == "ci-bot")
        #expect(create["credential"] as? String == "certificate CN=ci-bot,O=Vessel Tests")
        #expect(create["client_address"] as? String == "127.0.0.1")
        let made = try #require(entries.first { $0["action"] as? String == "principal.create" && $0["target"] as? String == "principal/ci-bot" })
        #expect(made["credential"] as? String == "token")
        #expect(entries.contains { $0["action"] as? String == "principal.cert_subject.add" && $0["after"] as? String == "CN=ci-bot,O=Vessel Tests" })
        let verified = try await CLI.run(["audit", "verify", "--json"], environment: server.env)
        #expect(verified.status == 0, "\(verified.stdout)")

        // A token of another principal on the bot's connection: refused, whoever it is.
        var both = bot
        both["VESSEL_TOKEN"] = ServeProcess.adminToken
        let clash = try await CLI.run(["whoami", "--json"], environment: both)
        #expect(clash.status == 4, "\(clash.stdout)")
        #expect(clash.stdout.contains("unauthenticated") && clash.stdout.contains("stands for 'ci-bot'"), "\(clash.stdout)")
        // A certificate mapped to nobody, without a token.
        var stranger = server.env
        stranger["VESSEL_TOKEN"] = nil
        let unknown = try await CLI.run(["whoami"], environment: stranger)
        #expect(unknown.status == 4 && unknown.stderr.contains("CN=stranger") && unknown.stderr.contains("--cert-subject"), "\(unknown.stderr)")
        // No certificate at all: refused at the handshake (exit 6), token or not.
        var none = server.env
        none["VESSEL_CLIENT_CERT"] = nil
        none["VESSEL_CLIENT_KEY"] = nil
        let refused = try await CLI.run(["whoami"], environment: none)
        #expect(refused.status == 6, "\(refused.stderr)")
        #expect(refused.stderr.contains("client certificate"), "\(refused.stderr)")
        let curl = try await runProcess("/usr/bin/curl", ["-sS", "--cacert", pki.path("ca.pem"), "\(server.url)/healthz"])
        #expect(curl.status != 0, "\(curl.stdout)")
        // A certificate with the bot's subject from another CA: refused at the handshake.
        var rogue = bot
        rogue["VESSEL_CLIENT_CERT"] = pki.path("rogue.pem")
        rogue["VESSEL_CLIENT_KEY"] = pki.path("rogue.key")
        let impostor = try await CLI.run(["whoami"], environment: rogue)
        #expect(impostor.status == 6, "\(impostor.stderr)")
    }

    @Test func optionalClientAuthLetsATokenInWithoutACertificate() async throws {
        let pki = try await PKI.make()
        let server = try await ServeProcess(arguments: pki.serve() + ["--tls-client-ca", pki.path("ca.pem"), "--tls-client-auth", "optional"], clientTLS: pki.trustingCA)
        let me = try await CLI.run(["whoami"], environment: server.env)
        #expect(me.status == 0 && me.stdout.contains("admin"), "\(me.stderr)")
        var anonymous = server.env
        anonymous["VESSEL_TOKEN"] = nil
        let refused = try await CLI.run(["whoami"], environment: anonymous)
        #expect(refused.status == 4, "\(refused.stderr)")
    }

    @Test func aRotatedCertificateServesNewConnectionsWhileAPullFinishes() async throws {
        let pki = try await PKI.make()
        let live = TempDir.make("vessel-live-cert")
        for name in ["server.pem", "server.key"] { try FileManager.default.copyItem(atPath: pki.path(name), toPath: "\(live)/\(name)") }
        let server = try await ServeProcess(arguments: ["--tls-cert", "\(live)/server.pem", "--tls-key", "\(live)/server.key", "--tls-reload-interval", "1s", "--log-level", "notice"], clientTLS: pki.trustingCA)
        let model = TempDir.make("vessel-big-model")
        defer { try? FileManager.default.removeItem(atPath: model) }
        try TempDir.writeFile("\(model)/weights.bin", count: 200 << 20, seed: 11)
        let push = try await CLI.run(["push", model, "--model", "acme/big", "--json"], environment: server.env)
        #expect(push.status == 0, "\(push.stderr)")
        let digest = try await runProcess("/usr/bin/sha256sum", ["\(model)/weights.bin"]).stdout.prefix(64)
        let oldSerial = try await Self.serial(of: pki.path("server.pem")), newSerial = try await Self.serial(of: pki.path("server2.pem"))
        #expect(try await Self.servedSerial(port: server.port) == oldSerial)

        // A slow download of the 200 MiB blob on one connection (curl, 20 MB/s: about 10 s).
        let download = TempDir.make("vessel-slow") + "/weights.bin"
        let slow = Task {
            try await runProcess("/usr/bin/curl", ["-sS", "--fail", "--limit-rate", "20M", "--cacert", pki.path("ca.pem"),
                                                   "-H", "Authorization: Bearer \(ServeProcess.adminToken)", "-o", download,
                                                   "\(server.url)/api/v1/models/acme/big/blobs/sha256:\(digest)"])
        }
        // Wait until bytes flow, then rotate (replace both files) and send SIGHUP.
        for _ in 0..<300 where ((try? FileManager.default.attributesOfItem(atPath: download)[.size] as? Int) ?? 0) < 1 << 20 {
            try await Task.sleep(for: .milliseconds(50))
        }
        // A CLI pull running through the rotation too.
        let target = TempDir.make("vessel-pull") + "/out"
        let pull = Task { try await CLI.run(["pull", "acme/big", target, "--cache-dir", TempDir.make("vessel-cache"), "--json"], environment: server.env) }
        try FileManager.default.removeItem(atPath: "\(live)/server.key")
        try FileManager.default.copyItem(atPath: pki.path("server2.key"), toPath: "\(live)/server.key")
        try FileManager.default.removeItem(atPath: "\(live)/server.pem")
        try FileManager.default.copyItem(atPath: pki.path("server2.pem"), toPath: "\(live)/server.pem")
        server.signal(SIGHUP)
        var served = ""
        for _ in 0..<60 {
            served = try await Self.servedSerial(port: server.port)
            if served == newSerial { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(served == newSerial, "a new connection still gets \(served)")
        let downloadSize = (try? FileManager.default.attributesOfItem(atPath: download)[.size] as? Int) ?? 0
        #expect(downloadSize < 200 << 20, "the slow download had finished before the rotation took effect; the test proves nothing")
        let slowResult = try await slow.value
        #expect(slowResult.status == 0, "\(slowResult.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: "\(model)/weights.bin", andPath: download))
        let pulled = try await pull.value
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: "\(model)/weights.bin", andPath: "\(target)/weights.bin"))
        // And clients keep working on new connections with the new certificate.
        let me = try await CLI.run(["whoami"], environment: server.env)
        #expect(me.status == 0, "\(me.stderr)")
        let log = (try? String(contentsOfFile: server.log, encoding: .utf8)) ?? ""
        #expect(log.contains("loaded a new certificate"), "\(log.suffix(1000))")
    }

    /// A python with `requests`: VESSEL_TEST_PYTHON when it has it, else python3.
    static let python: String? = {
        for candidate in [ProcessInfo.processInfo.environment["VESSEL_TEST_PYTHON"], "/usr/bin/python3"].compactMap({ $0 }) where !candidate.isEmpty {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: candidate)
            probe.arguments = ["-c", "import requests"]
            probe.standardError = FileHandle.nullDevice
            guard (try? probe.run()) != nil else { continue }
            probe.waitUntilExit()
            if probe.terminationStatus == 0 { return candidate }
        }
        return nil
    }()

    @Test(.enabled(if: python != nil, "needs a python with requests (VESSEL_TEST_PYTHON or python3)"))
    func pythonRequestsTrustsTheServerThroughREQUESTS_CA_BUNDLE() async throws {
        let pki = try await PKI.make()
        let server = try await ServeProcess(arguments: pki.serve(), clientTLS: pki.trustingCA)
        let script = """
            import os, sys, requests
            try:
                r = requests.get(sys.argv[1] + "/api/v1/whoami", headers={"Authorization": "Bearer " + sys.argv[2]}, timeout=30)
                print(r.status_code, r.json()["principal"])
            except requests.exceptions.SSLError as e:
                print("ssl-error", e)
            """
        let python = try #require(Self.python)
        let trusted = try await runProcess(python, ["-c", script, server.url, ServeProcess.adminToken], environment: ["REQUESTS_CA_BUNDLE": pki.path("ca.pem"), "PATH": "/usr/bin:/bin"])
        #expect(trusted.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "200 admin", "\(trusted.stdout)\(trusted.stderr)")
        let untrusted = try await runProcess(python, ["-c", script, server.url, ServeProcess.adminToken], environment: ["REQUESTS_CA_BUNDLE": pki.path("other-ca.pem"), "PATH": "/usr/bin:/bin"])
        #expect(untrusted.stdout.hasPrefix("ssl-error"), "\(untrusted.stdout)\(untrusted.stderr)")
    }

    @Test func forwardedForIsBelievedOnlyFromATrustedProxy() async throws {
        // Loopback is not a trusted proxy here: the header is ignored.
        let spoofed = try await ServeProcess(arguments: ["--trust-proxy", "10.0.0.0/8"])
        try await Self.createPrincipal("spoof", at: spoofed, forwardedFor: "203.0.113.9")
        #expect(try await Self.clientAddress(of: "principal/spoof", at: spoofed) == "127.0.0.1")
        spoofed.stop()
        // Loopback is the proxy: the client is the rightmost address it did not add itself.
        let proxied = try await ServeProcess(arguments: ["--trust-proxy", "127.0.0.1/32", "--trust-proxy", "10.0.0.0/8"])
        try await Self.createPrincipal("behind", at: proxied, forwardedFor: "198.51.100.1, 203.0.113.9, 10.1.2.3")
        #expect(try await Self.clientAddress(of: "principal/behind", at: proxied) == "203.0.113.9")
    }

    static func createPrincipal(_ name: String, at server: ServeProcess, forwardedFor: String) async throws {
        let made = try await runProcess("/usr/bin/curl", ["-sS", "--fail", "-X", "POST", "-H", "Authorization: Bearer \(ServeProcess.adminToken)",
                                                          "-H", "Content-Type: application/json", "-H", "X-Forwarded-For: \(forwardedFor)",
                                                          "-d", "{\"name\": \"\(name)\", \"kind\": \"user\"}", "\(server.url)/api/v1/principals"])
        #expect(made.status == 0, "\(made.stderr)")
    }

    static func clientAddress(of target: String, at server: ServeProcess) async throws -> String? {
        let audit = try await CLI.run(["audit", "--json"], environment: server.env)
        let entries = try #require(try audit.json()["items"] as? [[String: Any]])
        return entries.first { $0["target"] as? String == target }?["client_address"] as? String
    }
}
