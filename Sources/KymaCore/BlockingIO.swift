// Runs blocking system calls (file I/O, libpq, libcurl) off Swift's cooperative thread pool.
//
// The cooperative pool has one thread per core; a blocking call there stalls every task on it.
// Work handed to `BlockingIO.run` runs on Dispatch's global queue, which grows threads as needed.

import Dispatch

public enum BlockingIO {
    /// Runs `body` on a Dispatch worker thread and resumes the caller with its result.
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
