import Dispatch
import Foundation
import Synchronization

extension ModelScanner {
    /// Threads `scan(paths:)` uses by default: one per processor this process may use.
    public static var defaultJobs: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Scans files and folders. Folders are walked recursively (sorted by UTF-8 bytes,
    /// skipping `.git`, `.gitignore`, `.gitattributes`, `.github`, `.vessel.json`); symlinks
    /// are not followed and get an `invalid` result of kind `symlink`. Results come in the
    /// order of `paths`, each folder's files in sorted order, with paths joined onto the
    /// given folder path. Files are scanned on up to `jobs` threads at once.
    public func scan(paths: [String], jobs: Int = ModelScanner.defaultJobs) -> [ScanFileResult] {
        var items: [ScanDirectoryWalker.Item] = []
        for path in paths {
            if ScanDirectoryWalker.isDirectory(path) {
                items += ScanDirectoryWalker.items(below: path, maxDepth: limits.maxDirectoryDepth)
            } else {
                items.append(.file(path))
            }
        }
        let walked = items
        return Self.map(count: walked.count, jobs: jobs) { result(for: walked[$0]) }
    }

    /// Scans each file on up to `jobs` threads at once; results come in the order of `paths`.
    /// Picklescan and its peers scan one file at a time (Python's GIL holds them to one core);
    /// a pushed checkpoint of many shards is judged about `jobs` times sooner.
    public func scanFiles(_ paths: [String], jobs: Int = ModelScanner.defaultJobs) -> [ScanFileResult] {
        Self.map(count: paths.count, jobs: jobs) { scanFile(at: paths[$0]) }
    }

    /// `(0..<count).map(transform)`, run on `min(jobs, count)` threads that each take the next
    /// index as they finish one: files differ in cost by orders of magnitude, so fixed slices
    /// would leave a thread idle behind the one that drew the big file.
    ///
    /// The map owns its threads (the caller's plus `jobs - 1` it starts) rather than asking
    /// Dispatch for them: `concurrentPerform` lends no second thread while every core is busy,
    /// so "scanned on `jobs` threads" would be a hope, not a promise. The kernel shares the
    /// cores among the threads; on a loaded machine they simply run slower.
    static func map<T: Sendable>(count: Int, jobs: Int, _ transform: @Sendable (Int) -> T) -> [T] {
        let workers = min(max(jobs, 1), count)
        guard workers > 1 else { return (0..<count).map(transform) }
        let next = Atomic<Int>(0)
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            // Each index is claimed by exactly one thread, so the writes never overlap, and
            // every thread has finished before the buffer is handed back.
            nonisolated(unsafe) let slots = buffer
            withoutActuallyEscaping(transform) { transform in
                let drain: @Sendable () -> Void = {
                    while true {
                        let index = next.add(1, ordering: .relaxed).oldValue
                        guard index < count else { return }
                        (slots.baseAddress! + index).initialize(to: transform(index))
                    }
                }
                let finished = DispatchSemaphore(value: 0)
                for _ in 1..<workers {
                    let thread = Thread {
                        drain()
                        finished.signal()
                    }
                    thread.stackSize = 8 << 20  // as much as the main thread and Dispatch workers get
                    thread.start()
                }
                drain()
                for _ in 1..<workers { finished.wait() }
            }
            initialized = count
        }
    }

    private func result(for item: ScanDirectoryWalker.Item) -> ScanFileResult {
        switch item {
        case .file(let path):
            return scanFile(at: path)
        case .symlink(let path):
            return ScanFileResult(path: path, format: .data, findings: [
                ScanFinding(severity: .medium, kind: .symlink, detail: "symbolic links are not followed"),
            ])
        case .special(let path):
            return ScanFileResult(path: path, format: .data, findings: [
                ScanFinding(severity: .medium, kind: .unreadable, detail: "not a regular file"),
            ])
        case .unreadable(let path):
            return ScanFileResult(path: path, format: .data, findings: [
                ScanFinding(severity: .medium, kind: .unreadable, detail: "folder cannot be listed or is nested too deeply"),
            ])
        }
    }
}
