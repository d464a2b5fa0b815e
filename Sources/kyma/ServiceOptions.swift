// The options every command that talks to the catalog and object store shares.

import ArgumentParser
import CJemalloc
import CKymaAllocator
import KymaRuntime

#if canImport(Glibc)
import Glibc
#endif

struct ServiceOptions: ParsableArguments {
    @Option(help: "Catalog URL, postgres://user@host:port/db (else KYMA_CATALOG, kyma.toml, dev services).")
    var catalog: String?

    @Option(help: "Object store, file:///abs/path or s3://bucket/prefix?endpoint=...&region=... (else KYMA_STORE, kyma.toml, dev services).")
    var store: String?

    @Option(name: .customLong("cache-dir"), help: "Local read-through cache directory, or 'none' (else KYMA_CACHE_DIR).")
    var cacheDirectory: String?

    @Option(help: "Path of a kyma.toml (else KYMA_CONFIG, else ./kyma.toml).")
    var config: String?

    func resolve() throws -> KymaConfiguration {
        try reportingFailures { () throws(RuntimeError) in
            try KymaConfiguration.resolve(flags: .init(catalog: catalog, store: store, cacheDirectory: cacheDirectory, configFile: config))
        }
    }

    func open() async throws -> KymaServices {
        let configuration = try resolve()
        do {
            return try await KymaServices.open(configuration)
        } catch {
            printError(error.description)
            throw ExitCode.failure
        }
    }
}

/// Runs `body`; a RuntimeError becomes one line on stderr and exit status 1.
func reportingFailures<T>(_ body: () throws(RuntimeError) -> T) throws -> T {
    do {
        return try body()
    } catch {
        printError(error.description)
        throw ExitCode.failure
    }
}

func printError(_ message: String) {
    printDiagnostic("kyma: error: \(message)\n")
}

func printWarning(_ message: String) {
    printDiagnostic("kyma: warning: \(message)\n")
}

/// A line on standard output, written at once (not held in stdio's buffer, which a killed
/// process loses).
func printNow(_ text: String) {
    let line = text + "\n"
    _ = line.utf8CString.withUnsafeBufferPointer { write(1, $0.baseAddress, $0.count - 1) }
}

private func printDiagnostic(_ line: String) {
    _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
}

/// The allocator in use (jemalloc, linked into the executables) and its version.
func allocatorDescription() -> String {
    var version: UnsafePointer<CChar>? = nil
    var size = MemoryLayout<UnsafePointer<CChar>?>.size
    guard mallctl("version", &version, &size, nil, 0) == 0, let version else { return "unknown" }
    return "jemalloc \(String(cString: version)) (\(String(cString: kyma_allocator_options())))"
}
