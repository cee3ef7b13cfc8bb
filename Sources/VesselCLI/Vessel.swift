import ArgumentParser

@main
struct Vessel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vessel",
        abstract: "A model registry and artifact store.",
        discussion: """
            Exit codes: 0 success, 1 negative verdict (refused, unsafe, not verified), 2 invalid input,
            3 not found, 4 not authenticated or not allowed, 5 conflict, 6 server or network failure,
            10 pending approval, 64 usage error.
            """,
        version: "0.1.0",
        subcommands: [
            Serve.self, Login.self, WhoAmICommand.self,
            PrincipalCommand.self, TokenCommand.self,
            ModelCommand.self, Models.self, Versions.self, Show.self,
            Push.self, Pull.self, Export.self, Import.self,
            AliasCommand.self, Promote.self, VersionCommand.self, Deploy.self, Route.self, Agent.self,
            AuditCommand.self, FsckCommand.self, BackupCommand.self, RestoreCommand.self,
            Inspect.self, Scan.self, Policy.self,
            Grant.self, Revoke.self, Grants.self, Protect.self, Unprotect.self, Protections.self,
            Approve.self, Reject.self, Requests.self, Check.self, Resolve.self,
            Sign.self, Verify.self, KeysCommand.self,
            WebhookCommand.self,
            EnvCommand.self, DatasetCommand.self, RunCommand.self, LineageCommand.self,
            RetentionCommand.self, Hold.self, Unhold.self, GCCommand.self,
            SearchCommand.self, CacheCommand.self, PeersCommand.self,
        ]
    )

    /// ArgumentParser's entry point, after making a closed stdout an error the output layer
    /// handles rather than a SIGPIPE death (`StandardStream` says what it does then).
    static func main() async {
        StandardStream.ignoreBrokenPipe()
        await main(nil)
    }
}
