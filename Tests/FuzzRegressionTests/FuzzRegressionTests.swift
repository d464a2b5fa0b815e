// Every input fuzzing ever found a crash with (and the seeds of each target), replayed through
// the same targets libFuzzer runs: each must now give an answer or a typed error. A crasher
// found by `harness/fuzz` is kept in Inputs/<target>/ with its fix.

import Foundation
import KymaCore
import KymaFuzzTargets
import Testing

@Suite struct FuzzRegressionTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Inputs").path

    static var targets: [String] { FuzzTargets.all.keys.sorted() }

    @Test(arguments: targets) func replay(_ target: String) async throws {
        let folder = Self.directory + "/" + target
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let run = try #require(FuzzTargets.all[target])
        for file in files.sorted() {
            guard let data = FileManager.default.contents(atPath: folder + "/" + file) else { continue }
            // On a thread of its own: the planner target waits for its query's tasks, which must
            // not be kept from Swift concurrency's threads by this test waiting on one of them.
            try await BlockingIO.run { run([UInt8](data)) }  // a crash here fails the run
        }
        #expect(!files.isEmpty, "Inputs/\(target) holds the target's seeds and regressions")
    }
}
