// The static invariant gates run inside `swift test` too: the package graph is the
// architecture, and a test holds it (harness/gates does the work; see its header).

import Foundation
import Testing

@Suite("Invariant gates")
struct PackageGraphGateTests {
    static var packageRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        return "."
    }

    @Test func packageGraphKeepsTheInvariants() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.packageRoot + "/harness/gates"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("G1-G6, G10 and G11 clean"), "\(text)")
    }
}
