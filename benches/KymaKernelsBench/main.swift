// Bit-unpacking throughput per width, single core, against memcpy of the same output bytes
// measured in the same run (the physical limit) and a scalar byte-at-a-time loop; with --crc,
// CRC-32C throughput per buffer size against memcpy of the same bytes and the portable table
// version, in the same run.
// Run: swift run -c release KymaKernelsBench [--crc] [--markdown]   (writes nothing; prints a table)

#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KymaCore
import KymaKernels

func nowNanos() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
}

/// Best of `runs` timings of `body`, in seconds.
func best(runs: Int = 7, _ body: () -> Void) -> Double {
    var fastest = UInt64.max
    for _ in 0..<runs {
        let start = nowNanos()
        body()
        fastest = min(fastest, nowNanos() - start)
    }
    return Double(fastest) / 1e9
}

let markdown = CommandLine.arguments.contains("--markdown")
if CommandLine.arguments.contains("--crc") {
    crcTable()
    exit(0)
}
if CommandLine.arguments.contains("--digests") {
    digestTable()
    exit(0)
}

/// SHA-256 and MD5 of 64 MB (an S3 PUT's payload), MB/s, best of 7.
func digestTable() {
    var generator = SystemRandomNumberGenerator()
    let size = 64 << 20
    let data = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
    var copy = [UInt8](repeating: 0, count: size)
    var sink: UInt8 = 0
    func rate(runs: Int = 7, _ body: () -> Void) -> Double { Double(size) / best(runs: runs, body) / 1e6 }
    let memcpyRate = copy.withUnsafeMutableBytes { target in data.withUnsafeBytes { source in rate { memcpy(target.baseAddress!, source.baseAddress!, size) } } }
    let rows: [(String, Double)] = [
        ("SHA-256, SHA extensions (DigestKernels.sha256)\(DigestKernels.sha256UsesExtensions ? "" : " (not on this CPU: portable)")", rate { sink &+= DigestKernels.sha256(data)[0] }),
        ("SHA-256, portable C (DigestKernels.sha256Portable)", rate { sink &+= DigestKernels.sha256Portable(data)[0] }),
        ("SHA-256, Swift (KymaCore.SHA256)", rate(runs: 2) { sink &+= SHA256.digest(data)[0] }),
        ("MD5, C (DigestKernels.md5)", rate { sink &+= DigestKernels.md5(data)[0] }),
        ("MD5, Swift (KymaCore.MD5)", rate(runs: 2) { sink &+= MD5.digest(data)[0] }),
    ]
    if markdown {
        print("| digest of 64 MB | MB/s | vs memcpy (\(Int(memcpyRate)) MB/s) |")
        print("|---|---:|---:|")
    }
    for (name, value) in rows {
        print(markdown ? "| \(name) | \(Int(value)) | \(String(format: "%.3f", value / memcpyRate)) |" : "\(name): \(Int(value)) MB/s (\(String(format: "%.3f", value / memcpyRate)) of memcpy)")
    }
    if sink == 1 { print("") }
}

/// CRC-32C of buffers from 1 KB (a Kafka record) to 32 MB (past the caches): bytes per second of
/// `CRC32C.checksum` (SSE4.2, three chains), of one chain and of the table version, and memcpy
/// of the same bytes, each the best of 7 over enough repetitions to take ~30 ms.
func crcTable() {
    var generator = SystemRandomNumberGenerator()
    let largest = 32 << 20
    let data = (0..<largest).map { _ in UInt8.random(in: 0...255, using: &generator) }
    var copy = [UInt8](repeating: 0, count: largest)
    var sink: UInt32 = 0
    if markdown {
        print("| buffer | CRC32C.checksum GB/s | one chain GB/s | speed-up | vs memcpy | table version GB/s | memcpy GB/s |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
    }
    for size in [1_000, 4_096, 65_536, 1 << 20, largest] {
        let repeats = max(1, (64 << 20) / size)
        func rate(_ body: (UnsafeRawBufferPointer) -> Void) -> Double {
            data.withUnsafeBytes { all in
                let buffer = UnsafeRawBufferPointer(rebasing: all[0..<size])
                let seconds = best { for _ in 0..<repeats { body(buffer) } }
                return Double(size * repeats) / seconds / 1e9
            }
        }
        let hardware = rate { sink &+= CRC32C.checksum($0, initial: sink) }
        let oneChain = rate { sink &+= CRC32C.oneChainChecksum($0, initial: sink) }
        let table = rate { sink &+= CRC32C.tableChecksum($0, initial: sink) }
        let memcpyRate = copy.withUnsafeMutableBytes { target in
            rate { source in _ = memcpy(target.baseAddress!, source.baseAddress!, source.count); sink &+= UInt32(target[size / 2]) }
        }
        let label = size >= 1 << 20 ? "\(size >> 20) MB" : size >= 4096 ? "\(size >> 10) KB" : "\(size) B"
        if markdown {
            print("| \(label) | \(format2(hardware)) | \(format2(oneChain)) | \(format2(hardware / oneChain))x | \(format2(hardware / memcpyRate)) | \(format2(table)) | \(format2(memcpyRate)) |")
        } else {
            print("\(label): CRC32C \(format2(hardware)) GB/s, one chain \(format2(oneChain)) GB/s (\(format2(hardware / memcpyRate)) of memcpy), table \(format2(table)) GB/s, memcpy \(format2(memcpyRate)) GB/s")
        }
    }
    if sink == 42 { print("") }  // keeps the results observable
}

let count = 8_000_000
var output = [UInt32](repeating: 0, count: count)
var sink: UInt64 = 0

// Baseline: memcpy of the decoded size (count x 4 bytes).
let source = [UInt32](repeating: 7, count: count)
let memcpySeconds = best {
    output.withUnsafeMutableBytes { dst in source.withUnsafeBytes { src in _ = memcpy(dst.baseAddress!, src.baseAddress!, src.count) } }
    sink &+= UInt64(output[count / 2])
}
let memcpyGBs = Double(count * 4) / memcpySeconds / 1e9

if markdown {
    print("| width | values/s (unpack32) | GB/s of output | vs memcpy | scalar bitwise loop values/s | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|")
} else {
    print("memcpy: \(format2(memcpyGBs)) GB/s")
}
for width in [1, 2, 3, 4, 5, 7, 8, 11, 12, 16, 17, 20, 24, 28, 32] {
    var generator = SystemRandomNumberGenerator()
    let mask: UInt64 = (1 << UInt64(width)) - 1
    let values = (0..<count).map { _ in UInt64.random(in: 0...mask, using: &generator) }
    var packed: [UInt8] = []
    values.withUnsafeBufferPointer { BitPacking.pack($0, width: width, into: &packed) }
    let seconds = best {
        packed.withUnsafeBytes { raw in output.withUnsafeMutableBufferPointer { BitPacking.unpack32(raw, width: width, into: $0) } }
        sink &+= UInt64(output[count - 1])
    }
    // The scalar reference loop on a slice (it is slow), scaled per value.
    let sliceCount = 200_000
    let slice = Array(packed.prefix(BitPacking.packedByteCount(count: sliceCount, width: width)))
    let scalarSeconds = best(runs: 3) { sink &+= BitPacking.unpackReference(slice, width: width, count: sliceCount).last ?? 0 }
    let valuesPerSecond = Double(count) / seconds
    let scalarPerSecond = Double(sliceCount) / scalarSeconds
    let outputGBs = Double(count * 4) / seconds / 1e9
    if markdown {
        print("| \(width) | \(format2(valuesPerSecond / 1e9)) G | \(format2(outputGBs)) | \(format2(outputGBs / memcpyGBs)) | \(format2(scalarPerSecond / 1e6)) M | \(format2(valuesPerSecond / scalarPerSecond))x |")
    } else {
        print("width \(width): \(format2(valuesPerSecond / 1e9)) G values/s, \(format2(outputGBs)) GB/s, \(format2(outputGBs / memcpyGBs)) of memcpy")
    }
}
if markdown { print("\nmemcpy baseline in this run: \(format2(memcpyGBs)) GB/s (best of 7, \(count * 4 / 1_000_000) MB)") }
if sink == 42 { print("") }  // keeps the results observable

func format2(_ value: Double) -> String {
    let scaled = (value * 100).rounded() / 100
    var text = String(scaled)
    if let dot = text.firstIndex(of: ".") , text.distance(from: dot, to: text.endIndex) == 2 { text += "0" }
    return text
}
