import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

extension NIOThreadPool {
    /// The threads the blob stores block on for file I/O: more than NIO's shared pool (one per
    /// core), because direct writes and reads (decision 0008) mostly wait for the disk, and with
    /// one thread per core a chunk's write queued behind another session's hashing pass. Started
    /// on first use and kept for the life of the process, like NIO's own singletons.
    public static let blobIO: NIOThreadPool = {
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let pool = NIOThreadPool(numberOfThreads: max(8, 2 * max(cores, 1)))
        pool.start()
        return pool
    }()
}
