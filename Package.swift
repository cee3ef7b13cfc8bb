// swift-tools-version: 6.0
import PackageDescription

// Layers point inward: vessel → VesselServer / VesselClient → VesselMetadata / VesselStorage /
// VesselSigning / VesselFormats → VesselCore (which imports nothing of ours). What each target
// may import, and where a change goes: docs/architecture.md.
let package = Package(
    name: "Vessel",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vessel", targets: ["VesselCLI"]),
        .executable(name: "vessel-scan", targets: ["VesselScanTool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        // HTTPS and mutual TLS (docs/tls.md): the TLS handler and certificate parsing.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.20.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.25.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.32.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.0"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        // The web UI's server-rendered pages (docs/ui.md).
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // swift-crypto for one hash: the manifest digest (`Manifest+ManifestDigest.swift`), which
        // server and client both compute and which only VesselCore reaches from both.
        // No package: every target imports it, so anything it waited for (swift-crypto's BoringSSL)
        // would hold up the whole build.
        .target(name: "VesselCore"),
        // zlib from the system, for inflating zip members and joblib streams while scanning.
        .systemLibrary(name: "CVesselZlib", path: "Sources/CVesselZlib"),
        .target(name: "VesselFormats", dependencies: ["VesselCore", "CVesselZlib"]),
        // The few PKCS#11 declarations Vessel calls; the module itself is loaded with dlopen.
        .target(name: "CPKCS11"),
        .target(
            name: "VesselSigning",
            dependencies: [
                "VesselCore", "CPKCS11",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "VesselStorage",
            dependencies: [
                "VesselCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // An https:// S3 endpoint signed by a private CA (`vessel serve --ca-cert`).
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "VesselMetadata",
            dependencies: [
                "VesselCore",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "VesselServer",
            dependencies: [
                "VesselCore", "VesselFormats", "VesselSigning", "VesselStorage", "VesselMetadata",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                // /metrics: an instance registry per server, no global MetricsSystem (decision 0011).
                .product(name: "Prometheus", package: "swift-prometheus"),
                // Webhook deliveries: the HTTP client and HMAC-SHA256 signatures.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                // `vessel serve --tls-cert`: HTTPS, HTTP/2 by ALPN, client certificates (docs/tls.md).
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                // The web UI under /ui/: templates compiled into the binary (docs/ui.md).
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        .target(
            name: "VesselClient",
            dependencies: [
                // zlib: `vessel import` reads gzip layers of OCI images (docs/oci.md).
                "VesselCore", "VesselSigning", "CVesselZlib",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                // Private CAs, client certificates, naming a refused certificate (docs/tls.md).
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ]
        ),
        // `vessel route`: a reverse proxy that follows a deployment's routing document.
        .target(
            name: "VesselRouter",
            dependencies: [
                "VesselCore", "VesselClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // `vessel agent`: the node agent that follows a deployment's routing document into a folder.
        .target(
            name: "VesselAgent",
            dependencies: [
                "VesselCore", "VesselClient", "VesselSigning",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "VesselCLI",
            dependencies: [
                "VesselCore", "VesselServer", "VesselClient", "VesselFormats", "VesselSigning", "VesselStorage", "VesselRouter", "VesselAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // libFuzzer entry point for the safetensors parser (docs/safetensors.md).
        .executableTarget(name: "SafetensorsFuzz", dependencies: ["VesselFormats"]),
        // Benchmarks, run in release by scripts/bench_*.sh.
        .executableTarget(name: "SafetensorsBench", dependencies: ["VesselFormats"]),
        .executableTarget(name: "EnvCheckBench", dependencies: ["VesselCore"]),
        // The scanner alone, for the benchmark and the scanner comparison scripts.
        .executableTarget(name: "VesselScanTool", dependencies: ["VesselFormats"]),
        .executableTarget(
            name: "SigningBench",
            dependencies: ["VesselCore", "VesselSigning", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .executableTarget(
            name: "WebhookBench",
            dependencies: [
                "VesselServer", "VesselClient", "VesselMetadata", "VesselCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "DeploymentBench",
            dependencies: [
                "VesselServer", "VesselClient", "VesselMetadata", "VesselCore", "VesselRouter",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The process harness of the tests that run the built `vessel`: finding the binary,
        // running it, `vessel serve` as a process.
        .target(name: "VesselTestSupport", dependencies: ["VesselClient"], path: "Tests/VesselTestSupport"),
        .testTarget(name: "VesselCoreTests", dependencies: ["VesselCore", "VesselTestSupport"]),
        .testTarget(
            name: "VesselClientTests",
            dependencies: ["VesselClient", "VesselCore", "VesselSigning", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(name: "VesselFormatsTests", dependencies: ["VesselFormats", "VesselTestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "VesselSigningTests",
            dependencies: ["VesselCore", "VesselSigning", "VesselTestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "VesselStorageTests",
            dependencies: ["VesselCore", "VesselStorage", .product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .testTarget(
            name: "VesselMetadataTests",
            dependencies: ["VesselMetadata", .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .testTarget(
            name: "VesselServerTests",
            dependencies: [
                "VesselServer", "VesselFormats", "VesselClient", "VesselSigning", "VesselMetadata", "VesselTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(name: "VesselRouterTests", dependencies: ["VesselRouter", "VesselCore"]),
        .testTarget(name: "VesselCLITests", dependencies: ["VesselCore", "VesselCLI", "VesselFormats", "VesselTestSupport"]),
        // `vessel sign`/`verify`/`keys`, push --sign-key and pull --verify-key against a live
        // in-process server, by running the built `vessel` binary (and model_signing when
        // VESSEL_TEST_PYTHON is set).
        .testTarget(
            name: "VesselSigningCLITests",
            dependencies: [
                "VesselCore", "VesselServer", "VesselClient", "VesselSigning", "VesselCLI", "VesselTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ]
)
