import Prometheus

extension ServerMetrics {
    static let durabilityRisk = "vessel_database_durability_risk"

    /// `vessel_database_durability_risk{setting}`: 1 while PostgreSQL runs with `setting` off
    /// (a crash may lose acknowledged commits), else 0; read once at start. No series on SQLite.
    func databaseDurability(setting: String, risky: Bool) {
        let descriptor = MetricNameDescriptor(
            metricName: Self.durabilityRisk, unitName: "",
            helpText: "1 when the PostgreSQL setting (synchronous_commit, fsync) is off, so a crash may lose commits the server acknowledged; read at start."
        )
        registry.makeGauge(descriptor: descriptor, labels: [("setting", setting)]).set(to: risky ? 1 : 0)
    }
}
