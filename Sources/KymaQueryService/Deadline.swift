// Running work with a deadline: the work and a timer race in a task group; the timer's win
// cancels the work, which must react to cancellation (the executor checks between blocks; a
// catalog query is cancelled in PostgreSQL), and is reported as `.timeout`.

import KymaPlan

enum Deadline {
    static func run<T: Sendable>(seconds: Double, _ work: @escaping @Sendable () async throws(QueryError) -> T) async throws(QueryError) -> T {
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await work() }
                group.addTask {
                    try await Task.sleep(for: .nanoseconds(Int64(min(seconds, 1e9) * 1e9)))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else { throw QueryError.timeout(seconds: seconds) }
                return value
            }
        } catch let error as QueryError {
            throw error
        } catch is CancellationError {
            throw .cancelled
        } catch {
            throw .internalError("deadline: \(error)")
        }
    }
}
