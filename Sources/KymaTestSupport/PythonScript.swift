// Runs the independent judges (pyarrow, DuckDB, fastavro, pyiceberg) from Swift tests.

import Foundation

public enum PythonScriptError: Error, CustomStringConvertible {
    case failed(status: Int32, stderr: String)
    public var description: String {
        switch self {
        case .failed(let status, let stderr): "python3 exited with \(status): \(stderr)"
        }
    }
}

public enum PythonScript {
    /// Runs `python3 -c script arguments...` and returns its stdout. Output goes through files,
    /// not pipes: Foundation's pipe reads trap on EINTR when tests spawn processes in parallel.
    public static func run(_ script: String, _ arguments: [String]) throws -> String {
        let directory = TestServices.makeTemporaryDirectory("kyma-python")
        let outPath = directory + "/out", errPath = directory + "/err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
        process.waitUntilExit()
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw PythonScriptError.failed(status: process.terminationStatus, stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
        }
        TestServices.removeTree(directory)
        return out
    }
}
