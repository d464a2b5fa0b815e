// swift-tools-version: 6.1
//
// Kyma's package graph is its architecture. docs/architecture.md says which module owns what;
// harness/gates reads this manifest (swift package dump-package) and fails CI on a forbidden edge.
// Every target below lists its dependencies explicitly, even when empty, so the gates' proof
// (harness/gates --prove) can add a forbidden edge to a scratch copy by editing one line.

import PackageDescription

#if arch(x86_64)
/// SIMD kernels are compiled for x86-64-v3 (AVX2, BMI2, FMA); binaries check the CPU at start
/// (KymaRuntime.PlatformRequirements) and refuse to run on an older one.
let simdKernelFlags: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v3"])]
/// Kernels are optimised even in debug builds (the last -O flag wins over SwiftPM's -Onone), so
/// tests over real data run in seconds; the rest of the code keeps debug semantics.
let optimisedKernels: [SwiftSetting] = [.unsafeFlags(["-O"])]
let simdKernelCFlags: [CSetting] = [.unsafeFlags(["-march=x86-64-v3", "-O2"])]
#else
let simdKernelFlags: [SwiftSetting] = []
let simdKernelCFlags: [CSetting] = []
let optimisedKernels: [SwiftSetting] = [.unsafeFlags(["-O"])]
#endif

/// CI builds with KYMA_STRICT=1: every warning in Kyma's own targets is an error. (Passing
/// -warnings-as-errors with -Xswiftc would also reach dependencies, which SwiftPM builds with
/// -suppress-warnings, and the two flags conflict.)
let strict: [SwiftSetting] =
    Context.environment["KYMA_STRICT"] == "1" ? [.unsafeFlags(["-warnings-as-errors"])] : []

func systemLibrary(_ name: String, pkgConfig: String, apt: String) -> Target {
    .systemLibrary(name: name, path: "Sources/\(name)", pkgConfig: pkgConfig, providers: [.apt([apt])])
}

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let hummingbirdCore = Target.Dependency.product(name: "HummingbirdCore", package: "hummingbird")
let asyncAlgorithms = Target.Dependency.product(name: "AsyncAlgorithms", package: "swift-async-algorithms")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let nioHTTPTypes = Target.Dependency.product(name: "NIOHTTPTypes", package: "swift-nio-extras")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let swiftProtobuf = Target.Dependency.product(name: "SwiftProtobuf", package: "swift-protobuf")
let grpcCore = Target.Dependency.product(name: "GRPCCore", package: "grpc-swift-2")
let grpcInProcess = Target.Dependency.product(name: "GRPCInProcessTransport", package: "grpc-swift-2")
let grpcHTTP2 = Target.Dependency.product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport")
let grpcProtobuf = Target.Dependency.product(name: "GRPCProtobuf", package: "grpc-swift-protobuf")

let package = Package(
    name: "Kyma",
    products: [
        .executable(name: "kyma", targets: ["kyma"]),
        .executable(name: "k2i", targets: ["k2i"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The HTTP server (KymaServer only); its default traits pull in swift-configuration.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0", traits: []),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.0"),
        // OTLP's protobuf messages (KymaOTLP only); the Swift code is generated once and committed.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // The internal API between nodes (KymaTransport only); its code is generated once and committed.
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.0"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.0"),
    ],
    targets: [
        // MARK: - C libraries (each imported only by the module that owns it)
        systemLibrary("CPostgres", pkgConfig: "libpq", apt: "libpq-dev"),
        systemLibrary("CCurl", pkgConfig: "libcurl", apt: "libcurl4-openssl-dev"),
        systemLibrary("CZstd", pkgConfig: "libzstd", apt: "libzstd-dev"),
        systemLibrary("CLZ4", pkgConfig: "liblz4", apt: "liblz4-dev"),
        systemLibrary("CZlib", pkgConfig: "zlib", apt: "zlib1g-dev"),
        systemLibrary("CJemalloc", pkgConfig: "jemalloc", apt: "libjemalloc-dev"),
        systemLibrary("CRdKafka", pkgConfig: "rdkafka", apt: "librdkafka-dev"),
        .target(
            name: "CKymaCPU",
            dependencies: []),
        .target(
            name: "CKymaAllocator",
            dependencies: []),

        // MARK: - Engine core
        .target(
            name: "KymaCore",
            dependencies: [],
            swiftSettings: strict),

        .target(
            name: "CKymaKernels",
            dependencies: [],
            cSettings: simdKernelCFlags),
        .target(
            name: "KymaKernels",
            dependencies: ["CKymaKernels"],
            swiftSettings: strict + simdKernelFlags + optimisedKernels),
        .target(
            name: "KymaIndex",
            dependencies: ["KymaKernels", "KymaCore"],
            swiftSettings: strict + simdKernelFlags + optimisedKernels),
        .target(
            name: "KymaCompression",
            dependencies: ["CZstd", "CLZ4", "CZlib"],
            swiftSettings: strict),

        // MARK: - Object storage: protocol, then one target per implementation
        .target(
            name: "KymaObjectStore",
            dependencies: ["KymaCore"],
            swiftSettings: strict),
        .target(
            name: "KymaObjectStoreLocal",
            dependencies: ["KymaObjectStore", "KymaCore"],
            swiftSettings: strict + optimisedKernels),  // listing and sorting a large cache directory on every start
        .target(
            name: "KymaObjectStoreS3",
            dependencies: ["KymaObjectStore", "KymaCore", "KymaHTTP"],
            swiftSettings: strict),
        .target(
            name: "KymaIcebergCatalogs",
            dependencies: ["KymaCatalog", "KymaCore", "KymaHTTP"],
            swiftSettings: strict),
        .target(
            name: "KymaFormatParquet",
            dependencies: ["KymaCore", "KymaFormat", "KymaIndex", "KymaObjectStore", "KymaParquet"],
            swiftSettings: strict),
        .target(
            name: "KymaKafka",
            dependencies: ["CRdKafka"],
            swiftSettings: strict),
        .target(
            name: "KymaK2I",
            dependencies: ["KymaCore", "KymaCatalog", "KymaIceberg", "KymaIndex", "KymaIngest", "KymaKafka", "KymaKernels", "KymaPlan", "KymaTableSource", "KymaQueryService", "KymaFormat", "KymaExec"],
            swiftSettings: strict),
        .target(
            name: "KymaHTTP",
            dependencies: ["CCurl"],
            swiftSettings: strict),
        .target(
            name: "KymaObjectStoreCache",
            dependencies: ["KymaObjectStore"],
            swiftSettings: strict + optimisedKernels),

        // MARK: - Segment formats: the protocol, then one target per format
        .target(
            name: "KymaFormat",
            dependencies: ["KymaCore", "KymaObjectStore", "KymaKernels"],
            swiftSettings: strict),

        .target(
            name: "KymaFormatTLM",
            dependencies: ["KymaFormat", "KymaCore", "KymaObjectStore", "KymaKernels", "KymaCompression", "KymaIndex"],
            swiftSettings: strict + simdKernelFlags),

        // MARK: - Queries: the plan and its boundary, frontends, planner, executor
        .target(
            name: "KymaPlan",
            dependencies: ["KymaCore"],
            swiftSettings: strict),
        .target(
            name: "KymaKQL",
            dependencies: ["KymaPlan", "KymaCore"],
            swiftSettings: strict),
        .target(
            name: "KymaOptimizer",
            dependencies: ["KymaPlan", "KymaCore"],
            swiftSettings: strict),
        .target(
            name: "KymaTableSource",
            dependencies: ["KymaPlan", "KymaCore", "KymaFormat", "KymaKernels", "KymaObjectStore"],
            swiftSettings: strict),
        .target(
            name: "KymaSQL",
            dependencies: ["KymaPlan", "KymaCore"],
            swiftSettings: strict),
        .target(
            name: "KymaExec",
            dependencies: ["KymaPlan", "KymaCore", "KymaFormat", "KymaKernels", "KymaIndex", "KymaTableSource"],
            // Operator state lives in classes; dynamic exclusivity checks on their arrays cost
            // ~10% of a grouped scan (measured with perf), and each operator is single-owner.
            swiftSettings: strict + optimisedKernels + [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .target(
            name: "KymaExtentSource",
            dependencies: ["KymaTableSource", "KymaPlan", "KymaCore", "KymaFormat", "KymaCatalog", "KymaObjectStore"],
            swiftSettings: strict),
        .target(
            name: "KymaQueryService",
            dependencies: ["KymaPlan", "KymaOptimizer", "KymaTableSource", "KymaExec", "KymaCore"],
            swiftSettings: strict),

        // MARK: - Read scale-out: placement and retries, then the gRPC transport
        .target(
            name: "KymaCluster",
            dependencies: ["KymaCatalog", "KymaExec", "KymaIndex", "KymaPlan", "KymaTableSource", asyncAlgorithms],
            swiftSettings: strict),
        .target(
            name: "KymaTransport",
            dependencies: ["KymaCluster", "KymaExec", "KymaPlan", "KymaTableSource", grpcCore, grpcInProcess, grpcHTTP2, grpcProtobuf, swiftProtobuf],
            exclude: ["Proto"],
            swiftSettings: strict),

        // MARK: - Parquet (Kyma's own writer and reader) and Iceberg
        .target(
            name: "KymaParquet",
            dependencies: ["KymaCore", "KymaCompression", "KymaIndex"],
            swiftSettings: strict),

        .target(
            name: "KymaIceberg",
            dependencies: ["KymaCore", "KymaCompression", "KymaParquet", "KymaCatalog", "KymaObjectStore"],
            swiftSettings: strict),

        // MARK: - Vector collections
        .target(
            name: "KymaBuckets",
            dependencies: ["KymaCore", "KymaCatalog", "KymaObjectStore", "KymaCompression", "KymaFormat", "KymaIngest", "KymaVector", "KymaEmbedding", "KymaIceberg", "KymaParquet"],
            swiftSettings: strict),
        .target(
            name: "KymaEmbedding",
            dependencies: ["KymaCore", "KymaHTTP"],
            swiftSettings: strict),
        .target(
            name: "KymaVector",
            dependencies: ["KymaCore", "KymaIndex", "KymaFormat", "KymaObjectStore", "KymaCatalog", "KymaPlan", "KymaExec", "KymaIngest"],
            swiftSettings: strict),

        // MARK: - Ingest
        .target(
            name: "KymaIngest",
            dependencies: ["KymaCore", "KymaKernels", "KymaFormat", "KymaObjectStore", "KymaCatalog"],
            swiftSettings: strict),

        // MARK: - Catalog: protocol, then PostgreSQL (the only implementation)
        .target(
            name: "KymaCatalog",
            dependencies: ["KymaCore"],
            swiftSettings: strict),
        .target(
            name: "KymaCatalogPostgres",
            dependencies: ["KymaCatalog", "KymaCore", "CPostgres"],
            resources: [.copy("Migrations")],
            swiftSettings: strict),

        // MARK: - Composition root: configuration, wiring, node identity
        .target(
            name: "KymaRuntime",
            dependencies: [
                "KymaCore", "KymaObjectStore", "KymaObjectStoreLocal", "KymaObjectStoreS3", "KymaObjectStoreCache",
                "KymaCatalog", "KymaCatalogPostgres", "KymaFormat", "KymaFormatTLM", "KymaFormatParquet", "KymaPlan", "KymaKQL", "KymaSQL", "KymaTableSource", "KymaExtentSource", "KymaQueryService", "KymaExec", "KymaIceberg", "KymaIcebergCatalogs", "KymaBuckets", "CKymaCPU",
            ],
            swiftSettings: strict),

        // MARK: - OTLP (protobuf and JSON log export requests as rows)
        .target(
            name: "KymaOTLP",
            dependencies: ["KymaCore", swiftProtobuf],
            exclude: ["Proto"],
            swiftSettings: strict),

        .target(
            name: "KymaS3",
            dependencies: ["KymaCore", "KymaCompression", "KymaKernels"],
            swiftSettings: strict),

        // MARK: - The HTTP server (`kyma serve`): a root, the only importer of Hummingbird
        .target(
            name: "KymaServer",
            dependencies: ["KymaRuntime", "KymaCore", "KymaCatalog", "KymaObjectStore", "KymaObjectStoreCache", "KymaFormat", "KymaIngest", "KymaPlan",
                           "KymaExec", "KymaQueryService", "KymaExtentSource", "KymaVector", "KymaCompression", "KymaKernels", "KymaOTLP", "KymaS3", "KymaBuckets", "KymaEmbedding", "KymaIceberg", "KymaCluster", "KymaTransport", hummingbird, hummingbirdCore, asyncAlgorithms, serviceLifecycle, nioCore, nioHTTPTypes],
            resources: [.copy("Resources")],
            swiftSettings: strict),

        // MARK: - Executables
        .executableTarget(
            name: "kyma",
            dependencies: ["KymaRuntime", "KymaServer", "KymaCore", "KymaCatalog", "KymaObjectStore", "KymaFormat", "KymaIngest", "KymaPlan", "KymaQueryService", "KymaExec", "KymaVector", "KymaBuckets", "KymaIndex", "KymaIceberg", "KymaParquet", "KymaKafka", "CJemalloc", "CKymaAllocator", argumentParser],
            swiftSettings: strict),
        .executableTarget(
            name: "k2i",
            dependencies: ["KymaRuntime", "KymaServer", "KymaHTTP", "KymaCore", "KymaK2I", "KymaKafka", "KymaIceberg", "KymaIcebergCatalogs", "KymaCatalog", "KymaCatalogPostgres",
                           "KymaObjectStore", "KymaObjectStoreLocal", "KymaObjectStoreS3", "CJemalloc", "CKymaAllocator", argumentParser],
            swiftSettings: strict),

        // MARK: - Benchmarks (benches/; results in reports/)
        .executableTarget(
            name: "KymaKernelsBench",
            dependencies: ["KymaKernels", "KymaCore"],
            path: "benches/KymaKernelsBench",
            swiftSettings: strict + simdKernelFlags),

        .executableTarget(
            name: "TLMDecodeBench",
            dependencies: ["KymaCore", "KymaFormat", "KymaFormatTLM", "KymaObjectStore", "KymaObjectStoreLocal"],
            path: "benches/TLMDecodeBench",
            swiftSettings: strict),
        .executableTarget(
            name: "KafkaBench",
            dependencies: ["KymaKafka"],
            path: "benches/KafkaBench",
            swiftSettings: strict),
        .executableTarget(
            name: "ParquetBench",
            dependencies: ["KymaCore", "KymaParquet"],
            path: "benches/ParquetBench",
            swiftSettings: strict),
        .executableTarget(
            name: "VectorBench",
            dependencies: ["KymaIndex"],
            path: "benches/VectorBench",
            swiftSettings: strict),
        .target(
            name: "KymaFuzzTargets",
            dependencies: ["KymaCore", "KymaExec", "KymaFormatTLM", "KymaIceberg", "KymaIngest", "KymaK2I", "KymaKQL", "KymaOptimizer", "KymaParquet",
                           "KymaPlan", "KymaQueryService", "KymaSQL", "KymaTableSource"],
            swiftSettings: strict),
        .executableTarget(
            name: "KymaFuzzer",
            dependencies: ["KymaFuzzTargets"],
            path: "benches/KymaFuzzer",
            swiftSettings: strict),

        // MARK: - Test support (linked only into test targets)
        .target(
            name: "KymaTestSupport",
            dependencies: ["KymaObjectStore"],
            swiftSettings: strict),

        // MARK: - Tests (one target per module; contract, integration and invariant suites apart)
        .testTarget(
            name: "KymaCoreTests",
            dependencies: ["KymaCore", "KymaTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaKernelsTests",
            dependencies: ["KymaKernels", "KymaCore"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaIndexTests",
            dependencies: ["KymaIndex"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaKQLTests",
            dependencies: ["KymaKQL", "KymaPlan", "KymaCore"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaSQLTests",
            dependencies: ["KymaTestSupport", "KymaSQL", "KymaKQL", "KymaPlan", "KymaCore", "KymaQueryService", "KymaTableSource", "KymaExec", "KymaOptimizer"],
            exclude: ["slt"],
            swiftSettings: strict),
        .testTarget(
            name: "QueryFrontendContractTests",
            dependencies: ["KymaTestSupport", "KymaKQL", "KymaSQL", "KymaOptimizer", "KymaPlan", "KymaCore"],
            swiftSettings: strict),
        .testTarget(
            name: "FuzzRegressionTests",
            dependencies: ["KymaFuzzTargets", "KymaCore"],
            exclude: ["Inputs"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaOptimizerTests",
            dependencies: ["KymaTestSupport", "KymaOptimizer", "KymaPlan", "KymaKQL", "KymaCore"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaExecTests",
            dependencies: ["KymaTestSupport", "KymaExec", "KymaPlan", "KymaCore"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaExtentSourceTests",
            dependencies: ["KymaTestSupport", "KymaExtentSource", "KymaQueryService", "KymaTableSource", "KymaOptimizer", "KymaExec", "KymaPlan", "KymaKQL", "KymaCore", "KymaCatalog", "KymaCatalogPostgres",
                           "KymaFormat", "KymaFormatTLM", "KymaIngest", "KymaObjectStore", "KymaObjectStoreLocal"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaClusterTests",
            dependencies: ["KymaTestSupport", "KymaCluster"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaTransportTests",
            dependencies: ["KymaTestSupport", "KymaTransport", "KymaCluster", "KymaQueryService", "KymaTableSource", "KymaExec", "KymaPlan", "KymaKQL", "KymaCore"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaTableSourceTests",
            dependencies: ["KymaTestSupport", "KymaTableSource", "KymaQueryService", "KymaOptimizer", "KymaExec", "KymaPlan", "KymaKQL", "KymaCore"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaVectorTests",
            dependencies: ["KymaTestSupport", "KymaVector", "KymaIndex", "KymaPlan", "KymaCore", "KymaCatalog", "KymaCatalogPostgres",
                           "KymaObjectStore", "KymaObjectStoreLocal"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaParquetTests",
            dependencies: ["KymaTestSupport", "KymaParquet", "KymaCore"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaIcebergTests",
            dependencies: ["KymaTestSupport", "KymaIceberg", "KymaIcebergCatalogs", "KymaCore", "KymaCatalog", "KymaCatalogPostgres", "KymaObjectStore", "KymaObjectStoreLocal"],
            exclude: ["iceberg_check.py"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaCompressionTests",
            dependencies: ["KymaCompression", "KymaTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "FormatConformanceTests",
            dependencies: ["KymaTestSupport", "KymaCore", "KymaFormat", "KymaFormatTLM", "KymaFormatParquet", "KymaKernels", "KymaObjectStore", "KymaObjectStoreLocal"],
            exclude: ["Fixtures"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaIngestTests",
            dependencies: ["KymaTestSupport", "KymaIngest", "KymaCore", "KymaCatalog", "KymaCatalogPostgres", "KymaFormat", "KymaFormatTLM", "KymaObjectStore", "KymaObjectStoreLocal"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaObjectStoreTests",
            dependencies: ["KymaObjectStore", "KymaObjectStoreLocal", "KymaTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaObjectStoreS3Tests",
            dependencies: ["KymaTestSupport", "KymaObjectStore", "KymaObjectStoreS3"],
            swiftSettings: strict),
        .testTarget(
            name: "ObjectStoreContractTests",
            dependencies: ["KymaTestSupport", "KymaObjectStore", "KymaObjectStoreLocal", "KymaObjectStoreS3", "KymaObjectStoreCache"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaCatalogPostgresTests",
            dependencies: ["KymaTestSupport", "KymaCore", "KymaCatalog", "KymaCatalogPostgres"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaRuntimeTests",
            dependencies: ["KymaTestSupport", "KymaRuntime", "KymaObjectStore", "KymaCatalog"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaKafkaTests",
            dependencies: ["KymaTestSupport", "KymaKafka"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaK2ITests",
            dependencies: ["KymaTestSupport", "KymaK2I", "KymaPlan", "KymaKafka", "KymaCore", "KymaIceberg", "KymaCatalogPostgres", "KymaObjectStoreLocal", "KymaKQL"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaServerTests",
            dependencies: ["KymaTestSupport", "KymaServer", "KymaRuntime", "KymaCatalog", "KymaCatalogPostgres", "KymaCore", "KymaHTTP", "KymaCompression",
                           "KymaObjectStore", "KymaQueryService", "KymaBuckets"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaBucketsTests",
            dependencies: ["KymaBuckets", "KymaCatalog", "KymaCatalogPostgres", "KymaCore", "KymaCompression", "KymaFormat", "KymaFormatTLM",
                           "KymaIngest", "KymaObjectStore", "KymaObjectStoreLocal", "KymaTestSupport", "KymaVector", "KymaEmbedding", "KymaIceberg"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaEmbeddingTests",
            dependencies: ["KymaEmbedding", "KymaTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaS3Tests",
            dependencies: ["KymaS3", "KymaCore"],
            swiftSettings: strict),
        .testTarget(
            name: "KymaOTLPTests",
            dependencies: ["KymaOTLP", "KymaCore", "KymaTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "SystemLibraryTests",
            dependencies: ["CPostgres", "CCurl", "CZstd", "CLZ4", "CZlib", "CJemalloc", "CRdKafka", "CKymaCPU"],
            swiftSettings: strict),
        .testTarget(
            name: "InvariantTests",
            dependencies: [],
            swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
