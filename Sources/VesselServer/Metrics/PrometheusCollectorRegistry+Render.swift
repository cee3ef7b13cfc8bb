import Prometheus

extension PrometheusCollectorRegistry {
    /// The `/metrics` body: every series in the Prometheus text exposition format (0.0.4), then
    /// HELP and TYPE of each `ServerMetrics` family that has no series yet, as a scrape of a
    /// fresh server always showed them (the registry knows a labeled family only from its
    /// first series). Families and series come in no particular order.
    func render() -> String {
        var text = emitToString()
        for family in ServerMetrics.families where !text.contains("# TYPE \(family.name) ") {
            text += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.type)\n"
        }
        return text
    }
}
