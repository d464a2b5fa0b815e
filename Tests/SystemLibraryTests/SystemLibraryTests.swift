// The six system libraries link and answer through their module maps, at the versions Debian 12
// ships (or newer), plus the CPU check every binary runs at start.

import Testing
import CCurl
import CJemalloc
import CKymaCPU
import CLZ4
import CPostgres
import CRdKafka
import CZstd

@Suite("System libraries")
struct SystemLibraryTests {
    @Test func versions() throws {
        #expect(PQlibVersion() >= 150000)
        let curl = String(cString: curl_version())
        #expect(curl.hasPrefix("libcurl/7.88") || curl.hasPrefix("libcurl/8."), "\(curl)")
        #expect(ZSTD_versionNumber() >= 10504)
        #expect(LZ4_versionNumber() >= 10904)
        #expect(rd_kafka_version() >= 0x020000FF)
        var version: UnsafePointer<CChar>? = nil
        var size = MemoryLayout<UnsafePointer<CChar>?>.size
        #expect(mallctl("version", &version, &size, nil, 0) == 0)
        #expect(String(cString: try #require(version)).hasPrefix("5."))
    }

    @Test func zstdAndLZ4RoundTrip() {
        let input = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 % 17) }
        var compressed = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let zsize = ZSTD_compress(&compressed, compressed.count, input, input.count, 3)
        #expect(ZSTD_isError(zsize) == 0 && zsize < input.count)
        var output = [UInt8](repeating: 0, count: input.count)
        #expect(ZSTD_decompress(&output, output.count, compressed, zsize) == input.count)
        #expect(output == input)

        var lz = [UInt8](repeating: 0, count: Int(LZ4_compressBound(Int32(input.count))))
        let lsize = input.withUnsafeBufferPointer { src in
            lz.withUnsafeMutableBufferPointer { dst in
                src.withMemoryRebound(to: CChar.self) { s in
                    dst.withMemoryRebound(to: CChar.self) { d in LZ4_compress_default(s.baseAddress, d.baseAddress, Int32(src.count), Int32(dst.count)) }
                }
            }
        }
        #expect(lsize > 0 && Int(lsize) < input.count)
        var back = [UInt8](repeating: 0, count: input.count)
        let restored = lz.withUnsafeBufferPointer { src in
            back.withUnsafeMutableBufferPointer { dst in
                src.withMemoryRebound(to: CChar.self) { s in
                    dst.withMemoryRebound(to: CChar.self) { d in LZ4_decompress_safe(s.baseAddress, d.baseAddress, lsize, Int32(dst.count)) }
                }
            }
        }
        #expect(Int(restored) == input.count)
        #expect(back == input)
    }

    @Test func thisMachineRunsTheX86_64_v3Kernels() {
        #expect(kyma_cpu_supports_x86_64_v3() == 1)
    }
}
