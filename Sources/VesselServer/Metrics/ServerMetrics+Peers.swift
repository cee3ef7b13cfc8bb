import Prometheus

extension ServerMetrics {
    static let peerReports = "vessel_peer_reports_total"
    static let livePeerCount = "vessel_peers_live"

    static let peerFamilies: [(name: String, type: String, help: String)] = [
        (peerReports, "counter", "Reports of peers that served bytes not matching a piece digest (POST /api/v1/peers/:peer/reports)."),
        (livePeerCount, "gauge", "Live (announced, not expired) peers, as counted at the last announcement, withdrawal or listing this server answered."),
    ]

    /// A peer was reported.
    func peerReported() {
        registry.makeCounter(descriptor: Self.peerDescriptor(Self.peerReports)).increment()
    }

    /// How many peers are live now.
    func livePeers(_ count: Int) {
        registry.makeGauge(descriptor: Self.peerDescriptor(Self.livePeerCount)).set(to: Double(count))
    }

    static func peerDescriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: peerFamilies.first { $0.name == name }?.help ?? "")
    }
}
