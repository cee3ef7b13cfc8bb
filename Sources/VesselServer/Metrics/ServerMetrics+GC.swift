import Prometheus
import VesselCore

extension ServerMetrics {
    static let gcBytesFreed = "vessel_gc_bytes_freed_total"
    static let gcBlobsSwept = "vessel_gc_blobs_swept_total"
    static let gcLastRun = "vessel_gc_last_run_timestamp_seconds"

    /// A run of the lifecycle job: bytes freed and blobs swept (not counted for a dry run),
    /// and when the last run (dry or not) finished.
    func gcRun(_ report: GCReport) {
        if !report.dryRun {
            registry.makeCounter(descriptor: MetricNameDescriptor(metricName: Self.gcBytesFreed, unitName: "", helpText: "Bytes of blobs the garbage collector removed from storage."))
                .increment(by: report.bytes)
            registry.makeCounter(descriptor: MetricNameDescriptor(metricName: Self.gcBlobsSwept, unitName: "", helpText: "Blobs the garbage collector removed."))
                .increment(by: Int64(report.blobs))
        }
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: Self.gcLastRun, unitName: "", helpText: "When the garbage collector last ran, in seconds since the epoch."))
            .set(to: (Timestamp.parse(report.startedAt)?.timeIntervalSince1970 ?? 0) + Double(report.durationMs) / 1000)
    }
}
