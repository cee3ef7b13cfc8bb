import VesselTestSupport

// The process harness — the built `vessel`, the runner, `vessel serve` — is the shared
// VesselTestSupport target. These are the names this target's tests know it by.
typealias CLI = VesselTestSupport.CLI
typealias ServerProcess = ServeProcess
typealias TempDir = VesselTestSupport.TempDir
