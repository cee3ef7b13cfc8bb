import Logging
import VesselCore

extension Registry {
    /// The lifecycle job of this registry (`GarbageCollector`), with `--gc-grace`.
    public func garbageCollector(logger: Logger = Logger(label: "vessel.gc")) -> GarbageCollector {
        GarbageCollector(store: store, blobs: blobs, grace: options.gcGrace, holder: options.replicaID, metrics: metrics, logger: logger, clock: clock)
    }

    /// The scheduled run, every `--gc-interval`, on the replica holding the `gc` lease; a run
    /// meeting another (an on-demand one) is skipped until the next interval.
    func garbageCollectionJob(logger: Logger) -> BackgroundJob {
        let collector = garbageCollector(logger: logger)
        return BackgroundJob(name: "gc", interval: options.gcInterval) { _ in
            do {
                let report = try await collector.run(dryRun: false)
                return report.versions.count + report.drafts + report.blobs
            } catch let error as VesselError where error.code == .conflict {
                return 0
            }
        }
    }
}
