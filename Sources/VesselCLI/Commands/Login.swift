import ArgumentParser
import Foundation
import VesselClient
import VesselCore

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Save the server URL and a token in the client config file (mode 0600).")

    @Option(help: "The Vessel server URL.")
    var server: String?

    @Flag(help: "Read the token from standard input (for scripts).")
    var tokenStdin = false

    func run() async throws {
        try await Output.run(json: false) {
            let environment = ProcessInfo.processInfo.environment
            let path = ConfigFile.path(environment: environment)
            var values = try ConfigFile.load(path: path)
            let url = server ?? values["server"] ?? ClientConfig.defaultServer
            let token: String
            if tokenStdin {
                token = (readLine(strippingNewline: true) ?? "").trimmingCharacters(in: .whitespaces)
            } else {
                Output.prompt("Token for \(url): ")
                token = getpass("").map { String(cString: $0) } ?? ""
            }
            guard !token.isEmpty else { throw VesselError.invalidArgument("no token given") }
            // An https:// server is checked with VESSEL_CA_CERT / ca_cert, as every command does.
            let tls = try ClientConfig.resolve(serverFlag: url).tls
            let client = APIClient(config: ClientConfig(server: url, token: token, tls: tls))
            let me: WhoAmI
            do {
                me = try await client.whoami()
                await client.shutdown()
            } catch {
                await client.shutdown()
                throw error
            }
            values["server"] = url
            values["token"] = token
            try ConfigFile.save(values, path: path)
            Output.line("logged in to \(url) as \(me.principal); saved to \(path)")
        }
    }
}

struct WhoAmICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "whoami", abstract: "Show which principal the configured token belongs to.")
    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await Output.run(json: client.json) {
            let me = try await client.withClient { try await $0.whoami() }
            if client.json { Output.json(me) } else { Output.line("\(me.principal) (\(me.kind.rawValue))") }
        }
    }
}
