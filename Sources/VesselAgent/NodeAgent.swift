import Foundation
import Logging
import Synchronization
import VesselClient
import VesselCore
import VesselSigning

/// A `--verify-key` and the file it came from (what `verified_by` names).
public struct TrustedKey: Sendable {
    public var path: String
    public var key: VerificationKey

    public init(path: String, key: VerificationKey) {
        self.path = path
        self.key = key
    }
}

/// `vessel agent`'s settings (docs/deployments.md, "The node agent").
public struct AgentConfiguration: Sendable {
    public var model: ModelName
    public var env: AliasName
    public var dir: String
    public var slot: NodeSlot
    public var cacheDir: String
    public var verifyKeys: [TrustedKey]
    public var node: String
    /// Run through `/bin/sh -c` after each switch; non-zero puts `current` back.
    public var onSwitch: String?
    /// The environment this node serves with (`--freeze`/`--python`, `--image`): reported to
    /// the registry, and a version it does not satisfy is refused (`incompatible`).
    public var environment: NodeEnvironment?
    /// Fetch pieces from peers (`--peers auto`, the default).
    public var peers = true
    public var pollWait: Duration = .seconds(30)
    public var reportInterval: Duration = .seconds(10)

    public init(model: ModelName, env: AliasName, dir: String, slot: NodeSlot, cacheDir: String, verifyKeys: [TrustedKey], node: String, onSwitch: String?) {
        self.model = model
        self.env = env
        self.dir = dir
        self.slot = slot
        self.cacheDir = cacheDir
        self.verifyKeys = verifyKeys
        self.node = node
        self.onSwitch = onSwitch
    }
}

/// Sends a node report (`PUT …/deployments/:env/nodes/:node`).
public typealias NodeReporter = @Sendable (NodeReportRequest) async throws -> Void

/// The node agent: makes `DIR/current` hold the version its pool holds in the routing
/// document, verified before download, switched atomically, and says what it holds.
///
/// - `follow()` long-polls the document (`DeploymentFollower`) and keeps the newest;
/// - `reconcileLoop()` brings `current` to the desired version whenever the document changes
///   (and retries failures: `error` with backoff, `verification_failed` every 30 s,
///   `switch_failed` only for a new revision). A download whose version stops being the
///   desired one is cancelled (its partial file stays in the cache for later);
/// - `reportLoop()` reports the status on every change and every `reportInterval`.
/// Everything it knows sits in one `Mutex`; `status` is what `/health/version` answers.
public final class NodeAgent: Sendable {
    struct Failure {
        var digest: Digest
        var state: NodeState
        var at: ContinuousClock.Instant
        var revision: Int
        var attempts: Int
    }

    struct Shared {
        var document: DeploymentInfo?
        /// Whether this run has read a document from the registry (not only state.json's).
        var contacted = false
        var current: LoadedVersion?
        var previous: LoadedVersion?
        var state: NodeState
        var message: String?
        var failure: Failure?
        var missingLogged = false
    }

    public let configuration: AgentConfiguration
    let api: APIClient
    let cache: BlobCache
    let folders: VersionFolders
    let logger: Logger
    let reporter: NodeReporter?
    let onStatus: @Sendable (AgentStatus) -> Void
    let shared: Mutex<Shared>
    let wake = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    let changes = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))

    /// Reads `DIR/state.json`: the version `current` holds is served at once when its folder is
    /// intact (recorded inode, size and mtime of every file: nothing is hashed).
    public init(_ configuration: AgentConfiguration, api: APIClient, reporter: NodeReporter?, logger: Logger,
                onStatus: @escaping @Sendable (AgentStatus) -> Void = { _ in }) throws(VesselError) {
        self.configuration = configuration
        self.api = api
        self.reporter = reporter
        self.logger = logger
        self.onStatus = onStatus
        folders = try VersionFolders(dir: configuration.dir)
        cache = try BlobCache(root: configuration.cacheDir)
        var initial = Shared(state: .idle)
        if let saved = AgentStateFile.read(folders.stateFile) {
            initial.document = saved.document
            if let current = saved.current, folders.currentTarget() == current.digest.hex, folders.intact(current) { initial.current = current }
            if let previous = saved.previous, previous.digest != initial.current?.digest, folders.intact(previous) { initial.previous = previous }
        }
        if initial.current == nil, folders.currentTarget() != nil {
            // A link state.json does not vouch for (or whose folder changed): nothing is served.
            try? folders.point(at: nil)
        }
        let desired = initial.document.flatMap { Self.desired(in: $0, slot: configuration.slot) }
        if let current = initial.current, current.digest == desired?.digest {
            initial.state = .inSync
            initial.message = "version \(current.version), as of the last contact with the registry"
        } else if initial.document != nil, desired == nil {
            initial.state = .idle
        } else {
            initial.state = .error
            initial.message = "not in contact with the registry yet"
        }
        shared = Mutex(initial)
    }

    /// What `/health/version` answers.
    public var status: AgentStatus {
        shared.withLock { state in
            AgentStatus(model: configuration.model.description, env: configuration.env.value, slot: configuration.slot.rawValue,
                        version: state.current?.version, digest: state.current?.digest, loadedAt: state.current?.loadedAt,
                        verifiedBy: state.current?.verifiedBy, node: configuration.node, state: state.state.rawValue, message: state.message)
        }
    }

    /// The version `slot` should serve in `document`: its pool's (the live pool's for `live`).
    public static func desired(in document: DeploymentInfo, slot: NodeSlot) -> SlotVersion? {
        document.slots[slot.pool(in: document)]
    }

    var keysID: String { configuration.verifyKeys.map(\.key.hint).sorted().joined(separator: ",") }

    // MARK: State

    /// Sets the state (and message); a change is reported and announced.
    func set(_ state: NodeState, _ message: String?) {
        let changed = shared.withLock { shared in
            defer {
                shared.state = state
                shared.message = message
            }
            return shared.state != state || shared.message != message
        }
        if changed { announce() }
    }

    func announce() {
        changes.continuation.yield()
        onStatus(status)
    }

    func persist() {
        let file = shared.withLock { AgentStateFile(document: $0.document, current: $0.current, previous: $0.previous) }
        do { try file.write(folders.stateFile) } catch { logger.warning("\(error.message)") }
    }

    // MARK: Following

    /// Long-polls the routing document for as long as the task runs.
    public func follow() async {
        var failures = LogThrottle(interval: .seconds(30))
        var follower = DeploymentFollower(api: api, model: configuration.model, env: configuration.env)
        follower.pollWait = configuration.pollWait
        follower.missingDelay = .seconds(1)
        await follower.run(held: { shared.withLock { $0.contacted ? $0.document?.revision : nil } }) { event in
            switch event {
            case .document(let info):
                take(info)
                _ = failures.reset()
            case .missing(let error):
                let first = shared.withLock { shared in
                    defer { shared.missingLogged = true }
                    return !shared.missingLogged
                }
                if first { logger.warning("\(configuration.model) has no deployment in \(configuration.env): \(error.message); asking again every second") }
                if shared.withLock({ $0.current == nil }) { set(.error, error.message) }
            case .failed(let error, _):
                if let count = failures.record() {
                    let held = shared.withLock { $0.current.map { "version \($0.version)" } ?? "nothing" }
                    logger.warning("cannot read the routing document of \(configuration.model) in \(configuration.env) (\(count) failure(s)): \(error); serving \(held), retrying")
                }
            }
        }
    }

    /// Takes a document read from the registry (newer than the one held, or the first).
    func take(_ info: DeploymentInfo) {
        let changed = shared.withLock { shared in
            shared.contacted = true
            shared.missingLogged = false
            defer { shared.document = info }
            return shared.document != info
        }
        if changed { persist() }
        wake.continuation.yield()
    }

    // MARK: Reconciling

    /// Reconciles whenever the document changes, and every second (retries are due then).
    public func reconcileLoop() async {
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                wake.continuation.yield()
            }
        }
        defer { ticker.cancel() }
        wake.continuation.yield()
        for await _ in wake.stream {
            if Task.isCancelled { return }
            _ = await reconcile()
        }
    }

    /// The outcome of one reconciliation.
    public enum Outcome: Sendable, Equatable {
        case inSync
        case idle
        /// Nothing to do yet: no document, or a failure whose retry is not due.
        case waiting
        case failed(NodeState)
    }

    /// Brings `current` to the desired version of the document held, restarting when the
    /// desired version changes during a download.
    @discardableResult
    public func reconcile() async -> Outcome {
        while !Task.isCancelled {
            let (document, current, failure) = shared.withLock { ($0.document, $0.current, $0.failure) }
            guard let document, shared.withLock({ $0.contacted }) else { return .waiting }
            guard let target = Self.desired(in: document, slot: configuration.slot) else {
                set(.idle, "pool \(configuration.slot.pool(in: document).rawValue) holds no version")
                return .idle
            }
            if current?.digest == target.digest {
                shared.withLock { $0.failure = nil }
                set(.inSync, nil)
                return .inSync
            }
            if let failure, failure.digest == target.digest, !retryDue(failure, revision: document.revision) {
                return .failed(failure.state)
            }
            if let refusal = await incompatibility(target) {
                fail(target, document: document, state: refusal.state, message: refusal.message)
                return .failed(refusal.state)
            }
            // Download (cancellable) racing a change of the desired version.
            enum Race: Sendable {
                case prepared(Result<LoadedVersion, VesselError>)
                case superseded
            }
            let race = await withTaskGroup(of: Race.self) { group in
                group.addTask {
                    do { return .prepared(.success(try await self.prepare(target))) } catch {
                        return .prepared(.failure(error as? VesselError ?? VesselError(.unavailable, "\(error)")))
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(50))
                        let now = self.shared.withLock { $0.document.flatMap { Self.desired(in: $0, slot: self.configuration.slot) } }
                        if now?.digest != target.digest { return .superseded }
                    }
                    return .superseded
                }
                let first = await group.next() ?? .superseded
                group.cancelAll()
                return first
            }
            switch race {
            case .superseded:
                logger.notice("the desired version changed during the download of version \(target.version); following the new one")
                continue
            case .prepared(.failure(let error)):
                if Task.isCancelled { return .waiting }
                let state: NodeState = error.code == .notVerified ? .verificationFailed : .error
                fail(target, document: document, state: state, message: error.message)
                return .failed(state)
            case .prepared(.success(let prepared)):
                // The switch and its hook are not cancelled halfway.
                return await Task { await self.activate(prepared, target: target, revision: document.revision) }.value
            }
        }
        return .waiting
    }

    func retryDue(_ failure: Failure, revision: Int) -> Bool {
        let elapsed = failure.at.duration(to: .now)
        switch failure.state {
        case .switchFailed: return revision != failure.revision
        case .verificationFailed, .incompatible: return revision != failure.revision || elapsed >= .seconds(30)
        default: return elapsed >= DeploymentFollower.backoff(attempt: failure.attempts, first: .seconds(1), max: .seconds(30))
        }
    }

    func fail(_ target: SlotVersion, document: DeploymentInfo, state: NodeState, message: String) {
        let attempts = shared.withLock { shared in
            let attempts = (shared.failure?.digest == target.digest ? shared.failure?.attempts ?? 0 : 0) + 1
            shared.failure = Failure(digest: target.digest, state: state, at: .now, revision: document.revision, attempts: attempts)
            return attempts
        }
        let held = shared.withLock { $0.current.map { "version \($0.version) keeps serving" } ?? "nothing is served" }
        if attempts == 1 || state != .error {
            logger.error("version \(target.version) (\(target.digest)): \(state.rawValue): \(message); \(held)")
        }
        set(state, "version \(target.version): \(message)")
    }

    /// Why `target` must not be switched in, judged before any byte is downloaded: the failing
    /// requirements of its environment (requirements file, image) in this node's environment
    /// (`incompatible`), or `error` when its environment cannot be read. nil: go ahead (also
    /// when the agent was given no environment).
    func incompatibility(_ target: SlotVersion) async -> (state: NodeState, message: String)? {
        guard let environment = configuration.environment else { return nil }
        let lineage: VersionLineageInfo
        do {
            lineage = try await api.versionLineage(configuration.model, version: target.version)
        } catch {
            return (.error, "cannot read the environment of version \(target.version): \((error as? VesselError)?.message ?? "\(error)")")
        }
        let name = "\(configuration.model):\(target.version) " + (lineage.environment.requirementsFile ?? "requirements.txt")
        let failures = environment.failures(requirementsText: lineage.environment.requirementsText, requirementsName: name, image: lineage.environment.image)
        guard !failures.isEmpty else { return nil }
        // Within the report's message limit (4 KiB): the first failures, then how many more.
        var shown: [String] = [], size = 0
        for failure in failures where size + failure.utf8.count <= 3000 {
            shown.append(failure)
            size += failure.utf8.count + 2
        }
        let more = failures.count - shown.count
        return (.incompatible, "incompatible with this node's environment: " + shown.joined(separator: "; ") + (more > 0 ? "; and \(more) more" : ""))
    }

    /// The desired version's folder: the one already there when it is intact and was verified
    /// with the same keys (the previous version: an instant local rollback), else pulled through
    /// the cache (signature verified before any byte is downloaded).
    func prepare(_ target: SlotVersion) async throws -> LoadedVersion {
        let known = shared.withLock { shared in [shared.previous, shared.current].compactMap { $0 }.first { $0.digest == target.digest } }
        if let known, known.keys == keysID, folders.intact(known) { return known }
        set(.downloading, "version \(target.version) (\(target.digest))")
        folders.remove(target.digest)
        let keys = configuration.verifyKeys
        var puller = Puller(api: api, cache: cache)
        // Pieces from peers the registry names, each checked (docs/peers.md); off with `--peers off`.
        puller.peers = configuration.peers ? PeerSession() : nil
        let result = try await puller.pull(
            Reference(model: configuration.model, selector: .version(target.version)), into: folders.folder(of: target.digest),
            verifyCache: false, allowQuarantined: false, verifyKeys: keys.map(\.key))
        guard result.digest == target.digest else {
            folders.remove(target.digest)
            throw VesselError(.digestMismatch, "version \(target.version) has digest \(result.digest), not \(target.digest) as the routing document says")
        }
        let verifiedBy = result.verifiedSignature.map { signature in
            keys.first { $0.key.hint == signature.keyHint }?.path ?? "key hint \(signature.keyHint)"
        }
        logger.info("pulled version \(target.version) (\(target.digest)): \(result.files) files, \(result.bytesDownloaded) bytes downloaded")
        return LoadedVersion(version: target.version, digest: target.digest, loadedAt: "", verifiedBy: verifiedBy, keys: keysID,
                             files: folders.fingerprints(of: target.digest))
    }

    /// Points `current` at `prepared`, runs the hook, and either keeps it (the previous version
    /// stays, older folders go) or puts `current` back (`switch_failed`).
    func activate(_ prepared: LoadedVersion, target: SlotVersion, revision: Int) async -> Outcome {
        let before = shared.withLock { $0.current }
        do {
            try folders.point(at: prepared.digest)
        } catch {
            fail(target, document: shared.withLock { $0.document! }, state: .error, message: error.message)
            return .failed(.error)
        }
        if let hook = configuration.onSwitch {
            let status = await runHook(hook, prepared)
            if status != 0 {
                try? folders.point(at: before?.digest)
                let message = "--on-switch exited with status \(status); current holds \(before.map { "version \($0.version)" } ?? "nothing") again"
                let document = shared.withLock { $0.document! }
                fail(target, document: document, state: .switchFailed, message: message)
                return .failed(.switchFailed)
            }
        }
        var loaded = prepared
        loaded.loadedAt = Timestamp.rfc3339(Date())
        let keep = shared.withLock { shared in
            if let before, before.digest != loaded.digest { shared.previous = before }
            shared.current = loaded
            shared.failure = nil
            return Set([shared.current?.digest, shared.previous?.digest].compactMap { $0 })
        }
        persist()
        folders.removeAll(except: keep)
        logger.notice("switched \(folders.current) to version \(loaded.version) (\(loaded.digest))\(before.map { ", from version \($0.version)" } ?? "")")
        set(.inSync, nil)
        announce()
        return .inSync
    }

    /// `/bin/sh -c hook` with `VESSEL_MODEL`, `VESSEL_VERSION`, `VESSEL_DIGEST`, `VESSEL_DIR`
    /// (the agent's environment, without `VESSEL_TOKEN`); its output goes to the agent's stderr.
    /// Returns its exit status (128 + signal when killed, 127 when it could not start).
    func runHook(_ hook: String, _ version: LoadedVersion) async -> Int32 {
        var environment = ProcessInfo.processInfo.environment
        environment["VESSEL_TOKEN"] = nil
        environment["VESSEL_MODEL"] = configuration.model.description
        environment["VESSEL_VERSION"] = String(version.version)
        environment["VESSEL_DIGEST"] = version.digest.description
        environment["VESSEL_DIR"] = folders.current
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", hook]
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.standardError
        process.standardError = FileHandle.standardError
        return await withCheckedContinuation { continuation in
            process.terminationHandler = { process in
                continuation.resume(returning: process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus)
            }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(returning: 127)
            }
        }
    }

    // MARK: Reporting

    /// Reports the status on every change and every `reportInterval` until cancelled.
    public func reportLoop() async {
        guard reporter != nil else { return }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: configuration.reportInterval)
                changes.continuation.yield()
            }
        }
        defer { ticker.cancel() }
        changes.continuation.yield()
        var failures = LogThrottle(interval: .seconds(60))
        for await _ in changes.stream {
            if Task.isCancelled { return }
            do { try await report() } catch {
                if let count = failures.record() { logger.warning("cannot report to the registry (\(count) failure(s)): \(error)") }
            }
        }
    }

    /// One report of the status now.
    public func report() async throws {
        guard let reporter else { return }
        let status = status
        try await reporter(NodeReportRequest(slot: status.slot, digest: status.digest, version: status.version, state: status.state, message: status.message,
                                             environment: configuration.environment))
    }

    // MARK: --once

    /// What `--once` did and its exit code: 0 in sync (or idle), 1 verification refused or
    /// switch failed, 3 no such deployment, 6 registry unreachable and nothing usable.
    public struct OnceResult: Sendable {
        public var exitCode: Int32
        public var status: AgentStatus
    }

    /// Reads the document once and reconciles once.
    public func once() async -> OnceResult {
        do {
            let info = try await api.deployment(configuration.model, env: configuration.env)
            take(info)
        } catch let error as VesselError where error.code == .notFound {
            set(.error, error.message)
            return OnceResult(exitCode: 3, status: status)
        } catch {
            // Unreachable: fine when the last contact's desired version is in place.
            let (document, current) = shared.withLock { ($0.document, $0.current) }
            let desired = document.flatMap { Self.desired(in: $0, slot: configuration.slot) }
            if let current, current.digest == desired?.digest {
                set(.inSync, "the registry cannot be reached (\(error)); version \(current.version) is the desired one as of the last contact")
                return OnceResult(exitCode: 0, status: status)
            }
            set(.error, "the registry cannot be reached: \(error)")
            return OnceResult(exitCode: 6, status: status)
        }
        let outcome = await reconcile()
        let code: Int32
        switch outcome {
        case .inSync, .idle: code = 0
        case .failed(.verificationFailed), .failed(.switchFailed), .failed(.incompatible): code = 1
        case .failed, .waiting: code = 6
        }
        if reporter != nil {
            // Bounded: the registry may have gone away meanwhile.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await self.report() }
                group.addTask { try? await Task.sleep(for: .seconds(3)) }
                await group.next()
                group.cancelAll()
            }
        }
        return OnceResult(exitCode: code, status: status)
    }
}
