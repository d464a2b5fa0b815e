// The start-up CPU check of binaries whose SIMD kernels are compiled for x86-64-v3.

#if canImport(Glibc)
import Glibc
#endif
import CKymaCPU

public enum PlatformRequirements {
    /// Exits with a clear message (status 78, EX_CONFIG) when the CPU cannot run the x86-64-v3
    /// kernels. `KYMA_SIMULATE_OLD_CPU=1` takes the refusal path on any CPU, so the message is
    /// tested.
    public static func requireSIMDLevel(binary: String) {
        let simulated = getenv("KYMA_SIMULATE_OLD_CPU").map { String(cString: $0) == "1" } ?? false
        guard simulated || kyma_cpu_supports_x86_64_v3() == 0 else { return }
        let message = "\(binary): this CPU lacks x86-64-v3 (AVX2, BMI2, FMA), which this build of Kyma's SIMD kernels requires; rebuild without -march=x86-64-v3 or run on a newer CPU\n"
        _ = message.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
        exit(78)
    }
}
