#if canImport(Glibc)
import Glibc
#endif
import Logging

/// The process's open-file limit. Every connection holds a descriptor; with the soft limit
/// reached the server cannot accept even `/healthz`. The hard limit is what the system lets
/// the process have, so the server asks for all of it.
public enum DescriptorLimit {
    /// Raises the soft RLIMIT_NOFILE to the hard one and logs the change (or why not).
    public static func raiseToHard(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        guard limit.rlim_cur < limit.rlim_max else {
            logger.info("open-file limit \(limit.rlim_cur)")
            return
        }
        let soft = limit.rlim_cur
        limit.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            logger.notice("raised the open-file limit from \(soft) to \(limit.rlim_max)")
        } else {
            logger.warning("the open-file limit stays \(soft): raising it to \(limit.rlim_max) failed: \(String(cString: strerror(errno)))")
        }
    }
}
