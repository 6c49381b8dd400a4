// swift-tools-version:6.1
import PackageDescription

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
        .systemLibrary(
            name: "CFastCGI",
            pkgConfig: "fcgi",
            providers: [.apt(["libfcgi-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(
            name: "OTPLogic",
            dependencies: [
                "CSQLite",
                "CCurl",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .executableTarget(
            name: "otp-fcgi",
            dependencies: [
                "OTPLogic",
                "CFastCGI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Fuzz targets over request decoding and routing. A normal build makes a replay program;
        // built with -DFUZZING -sanitize=fuzzer (make fuzz), a libFuzzer binary.
        .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .executableTarget(
            name: "otp-fuzz",
            dependencies: ["OTPLogic", "CLibFuzzer"],
            path: "Fuzz",
            exclude: ["CLibFuzzer", "corpus", "regressions"]
        ),
        .testTarget(
            name: "OTPLogicTests",
            dependencies: ["OTPLogic", "CSQLite"]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["CCurl"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
