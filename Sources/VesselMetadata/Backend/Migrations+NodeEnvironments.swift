extension Migrations {
    /// 20: what environment each agent serves with (issue 25, docs/lineage.md "Where it bites"):
    /// the last `NodeEnvironment` its report carried (`vessel agent --freeze/--python/--image`),
    /// as JSON; null while it reported none. A deploy is judged against these.
    static let nodeEnvironments: [String] = [
        "ALTER TABLE deployment_nodes ADD COLUMN environment TEXT",
    ]
}
