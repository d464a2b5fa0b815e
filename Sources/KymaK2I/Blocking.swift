// Running async work from k2i's consuming thread (a plain thread that blocks in librdkafka's
// poll): the work runs as a task and the thread waits for it. Never called from a task.

import Dispatch
import Synchronization

final class ResultBox<T: Sendable>: Sendable {
    let value = Mutex<Result<T, any Error>?>(nil)
}

func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        box.value.withLock { $0 = result }
        done.signal()
    }
    done.wait()
    return try box.value.withLock { $0! }.get()
}
