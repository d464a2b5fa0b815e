// libFuzzer target for TLM footer parsing: any bytes must give a footer or a FormatError,
// never a crash, a hang or an out-of-bounds access (built with AddressSanitizer).
//
// Fuzz:   harness/fuzz-footer [SECONDS]   (builds with -sanitize=fuzzer,address, seeds from the fixture)
// Replay: swift run TLMFooterFuzzer FILE...   (a normal build reads inputs from the command line)

import KymaFormatTLM

@inline(never)
func parseFooter(_ bytes: [UInt8]) {
    // Skip the CRC so mutated footers reach the parser (the CRC would reject nearly all).
    _ = try? TLMFormat.inspect(extent: bytes, key: "fuzz", verifyChecksum: false)
}

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    parseFooter(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
import Foundation

@main
enum FooterReplay {
    static func main() {
        var parsed = 0
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            parseFooter([UInt8](data))
            parsed += 1
        }
        print("parsed \(parsed) inputs without a crash")
    }
}
#endif
