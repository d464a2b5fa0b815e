// libFuzzer entry for every target of KymaFuzzTargets: the target is named by KYMA_FUZZ_TARGET.
//
// Fuzz:   harness/fuzz TARGET|all [SECONDS]   (built with -sanitize=fuzzer,address)
// Replay: swift run KymaFuzzer TARGET FILE...   (a normal build reads inputs from the command line)

import KymaFuzzTargets

#if FUZZING
import Foundation

let selected: @Sendable ([UInt8]) -> Void = {
    let name = ProcessInfo.processInfo.environment["KYMA_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTargets.all[name] else {
        FileHandle.standardError.write(Data("KYMA_FUZZ_TARGET must be one of \(FuzzTargets.all.keys.sorted().joined(separator: ", "))\n".utf8))
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    selected(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
#else
import Foundation

@main
enum FuzzReplay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = FuzzTargets.all[name] else {
            print("usage: KymaFuzzer TARGET FILE... (targets: \(FuzzTargets.all.keys.sorted().joined(separator: ", ")))")
            exit(2)
        }
        var replayed = 0
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            target([UInt8](data))
            replayed += 1
        }
        print("replayed \(replayed) inputs through \(name) without a crash")
    }
}
#endif
