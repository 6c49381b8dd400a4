// swift-tools-version:6.1
import PackageDescription

// The dependency rule (ARCHITECTURE.md): arrows point inward. `OTPLogic` is the product and
// depends on nothing of ours and on no C module; each adapter depends on `OTPLogic` and its own C
// module, never on another adapter; only `otp-fcgi`, the composition root, sees them all.
let package = Package(
    name: "otp-fcgi",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "otp-fcgi", targets: ["otp-fcgi"]),
        .library(name: "OTPLogic", targets: ["OTPLogic"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // The core: rules and policies, ports, request/response values, routing, strict JSON,
        // errors mapped to HTTP, the configuration value. No Glibc, no C module.
        .target(
            name: "OTPLogic",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),

        // Adapters: each implements ports of the core over one outside thing.
        .target(name: "OTPSQLite", dependencies: ["OTPLogic", "CSQLite"]),
        .target(
            name: "OTPSMS",
            dependencies: ["OTPLogic", "CCurl", .product(name: "Logging", package: "swift-log"), .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "OTPSystem", dependencies: ["OTPLogic", .product(name: "Logging", package: "swift-log")]),
        .target(name: "OTPPhoneNumbers", dependencies: ["OTPLogic", "CPhoneNumber"]),
        .target(name: "OTPPostgres", dependencies: ["OTPLogic", "CPq"]),

        // `check-nginx`: nginx's configuration text in, findings out. Depends on nothing: the
        // command line runs nginx -T and reads the files.
        .target(name: "NginxCheck"),

        // The composition root, the command line and the FastCGI/CGI front.
        .executableTarget(
            name: "otp-fcgi",
            dependencies: [
                "OTPLogic", "OTPSQLite", "OTPPostgres", "OTPSMS", "OTPSystem", "CFastCGI",
                "OTPPhoneNumbers", "NginxCheck",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // jemalloc serves every malloc of the process (Swift's, SQLite's, libfcgi's): linked
            // ahead of libc, its symbols come first. A request makes 50 to 150 allocations; glibc's
            // cost 4.6k to 14.5k instructions more per request (README, "Design choices").
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),

        // C libraries of the system, through module maps (and shims for variadic C).
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CPq", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // libphonenumber (C++, Debian's libphonenumber-dev) behind a plain C API of our own.
        .target(name: "CPhoneNumber", linkerSettings: [.linkedLibrary("phonenumber")]),

        // Test doubles and helpers shared by the unit tests, the integration tests and Fuzz/.
        .target(
            name: "TestSupport",
            dependencies: ["OTPLogic", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport"
        ),

        // Fuzz targets over request decoding and routing. A normal build makes a replay program;
        // built with -DFUZZING -sanitize=fuzzer (make fuzz), a libFuzzer binary.
        .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .executableTarget(
            name: "otp-fuzz",
            dependencies: ["OTPLogic", "OTPSQLite", "TestSupport", "CLibFuzzer"],
            path: "Fuzz",
            exclude: ["CLibFuzzer", "corpus", "regressions"]
        ),
        .testTarget(
            name: "OTPLogicTests",
            dependencies: [
                "OTPLogic", "OTPSQLite", "OTPPostgres", "OTPSMS", "OTPSystem", "OTPPhoneNumbers", "TestSupport", "CSQLite", "CPhoneNumber", "CCurl",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(name: "NginxCheckTests", dependencies: ["NginxCheck"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["CCurl", "TestSupport", "OTPLogic", .product(name: "Crypto", package: "swift-crypto")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
