/// The values PEP 508 markers are evaluated against: those of CPython on Linux x86_64, with
/// the Python version and the platform chosen by the caller (`vessel env check
/// --python-version 3.11 --platform darwin`).
public struct MarkerEnvironment: Sendable, Hashable {
    /// The platforms `--platform` names, as `sys.platform` spells them.
    public enum Platform: String, Sendable, Hashable, CaseIterable {
        case linux, darwin, win32

        var system: String {
            switch self {
            case .linux: "Linux"
            case .darwin: "Darwin"
            case .win32: "Windows"
            }
        }

        var osName: String { self == .win32 ? "nt" : "posix" }
    }

    /// Variable name → value (`extra` is empty: a requirements file names no extra).
    public let values: [String: String]
    public let pythonVersion: String
    public let pythonFullVersion: String
    public let platform: Platform

    /// The default Python version when none is given.
    public static let defaultPythonVersion = "3.12"

    /// - Parameter pythonVersion: `X.Y` or `X.Y.Z` (digits only); `X.Y` means `X.Y.0`.
    /// - Throws: `MarkerError` when `pythonVersion` is not of that form.
    public init(pythonVersion: String = MarkerEnvironment.defaultPythonVersion, platform: Platform = .linux) throws(MarkerError) {
        let parts = pythonVersion.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3,
              parts.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 9 && $0.utf8.allSatisfy(VersionScanner.isDigit) }) else {
            throw MarkerError(text: pythonVersion, offset: nil, reason: "'\(pythonVersion)' is not a Python version of the form X.Y or X.Y.Z")
        }
        let numbers = parts.map { String(Int($0) ?? 0) }
        let short = numbers[0] + "." + numbers[1]
        let full = short + "." + (numbers.count == 3 ? numbers[2] : "0")
        self.pythonVersion = short
        pythonFullVersion = full
        self.platform = platform
        values = [
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": platform.osName,
            "platform_machine": "x86_64",
            "platform_release": "",
            "platform_system": platform.system,
            "platform_version": "",
            "python_full_version": full,
            "platform_python_implementation": "CPython",
            "python_version": short,
            "sys_platform": platform.rawValue,
            "extra": "",
        ]
    }

    /// - Throws: `MarkerError` for a variable this environment has no value for
    ///   (`extras`, `dependency_groups`: lock-file variables).
    public func value(of name: String) throws(MarkerError) -> String {
        guard let value = values[name] else {
            throw MarkerError(text: name, offset: nil, reason: "the marker variable '\(name)' has no value when checking a requirements file")
        }
        return value
    }
}
