// swift-tools-version:6.0
import PackageDescription

/// Hark: an offline voice assistant. One library target per pipeline stage,
/// system-library modules for the C libraries, a small C target for CPU kernels
/// Swift cannot express well (half floats, quantized dot products), and the `hark` CLI.
let package = Package(
    name: "Hark",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "hark", targets: ["hark"]),
        .library(name: "Audio", targets: ["Audio"]),
        .library(name: "ASR", targets: ["ASR"]),
        .library(name: "Intent", targets: ["Intent"]),
        .library(name: "LLM", targets: ["LLM"]),
        .library(name: "Assistant", targets: ["Assistant"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
    ],
    targets: [
        // C libraries from Debian (libasound2-dev, libfftw3-dev, libopenblas-dev).
        .systemLibrary(name: "CALSA", pkgConfig: "alsa", providers: [.apt(["libasound2-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3f", providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CEspeakNG", providers: [.apt(["libespeak-ng-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Hot kernels with per-CPU paths chosen at run time (portable binaries, ARM64 builds too).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),

        .target(name: "Audio", dependencies: ["CALSA", "CKernels"]),
        .target(name: "ASR", dependencies: ["CFFTW", "COpenBLAS", "CKernels", "CZlib"]),
        .target(name: "Intent", dependencies: ["CALSA", .product(name: "Yams", package: "Yams")], resources: [.copy("Resources/en.yaml")]),
        .target(name: "LLM", dependencies: ["CKernels", "COpenBLAS"]),
        .target(name: "Assistant", dependencies: [
            "Audio", "ASR", "Intent", "LLM", "VAD", "CEspeakNG",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .executableTarget(name: "hark", dependencies: [
            "Audio", "ASR", "Intent", "LLM", "VAD", "Assistant",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .executableTarget(name: "hark-bench", dependencies: ["Audio", "ASR", "Intent", "LLM", "VAD", "Assistant"], path: "Benchmarks/HarkBench"),

        .target(name: "HarkTestSupport"),
        .testTarget(name: "AudioTests", dependencies: ["Audio", "HarkTestSupport"]),
        .testTarget(name: "ASRTests", dependencies: ["ASR", "Audio", "HarkTestSupport"]),
        .testTarget(name: "IntentTests", dependencies: ["Intent", "HarkTestSupport"]),
        .testTarget(name: "LLMTests", dependencies: ["LLM", "HarkTestSupport"]),
        .testTarget(name: "AssistantTests", dependencies: ["Assistant", "ASR", "Audio", "Intent", "VAD", "HarkTestSupport"]),

        // Voice activity detection and endpointing (Silero VAD natively, energy gate).
        .target(name: "VAD", dependencies: ["CFFTW", "CKernels"]),
        .testTarget(name: "VADTests", dependencies: ["VAD", "Audio", "HarkTestSupport"]),
    ]
)
