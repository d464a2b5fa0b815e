// The one retry layer of object storage, in front of any store.

import Synchronization

/// An `ObjectStore` that retries its base store's transient failures with capped exponential
/// backoff and jitter (`RetryPolicy`), abandons an attempt that outlives `attemptTimeoutMillis`
/// (as `.timeout`, then retried), and checks that range reads return every byte the range
/// holds: a short answer is `.truncated` and retried, never passed on.
///
/// A retried `putIfAbsent` that finds the key taken compares the stored bytes with its own:
/// equal means an earlier attempt created it and only the answer was lost. A cancelled task
/// stops retrying with `.cancelled`. Final errors (not found, unauthorized, invalid key or
/// range) are thrown at once.
public struct RetryingObjectStore: ObjectStore {
    public let base: any ObjectStore
    public let policy: RetryPolicy
    /// The longest one attempt may take; nil leaves it to the base store's own timeouts.
    public let attemptTimeoutMillis: Int?

    public init(base: any ObjectStore, policy: RetryPolicy = RetryPolicy(), attemptTimeoutMillis: Int? = nil) {
        self.base = base
        self.policy = policy
        self.attemptTimeoutMillis = attemptTimeoutMillis.map { max(1, $0) }
    }

    public var description: String { base.description }

    public func put(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) {
        try await policy.run { _ throws(ObjectStoreError) in
            try await attempt(key) { () throws(ObjectStoreError) in try await base.put(key, bytes) }
        }
    }

    public func putIfAbsent(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) {
        try await policy.run { number throws(ObjectStoreError) in
            do throws(ObjectStoreError) {
                try await attempt(key) { () throws(ObjectStoreError) in try await base.putIfAbsent(key, bytes) }
            } catch where error.kind == .alreadyExists && number > 1 {
                // An earlier attempt may have created it with its answer lost: ours when it
                // holds exactly our bytes.
                let existing = try await attempt(key) { () throws(ObjectStoreError) in try await base.get(key) }
                guard existing == bytes else { throw error }
            }
        }
    }

    public func get(_ key: ObjectKey) async throws(ObjectStoreError) -> [UInt8] {
        try await policy.run { _ throws(ObjectStoreError) in
            try await attempt(key) { () throws(ObjectStoreError) in try await base.get(key) }
        }
    }

    public func get(_ key: ObjectKey, range: ByteRange) async throws(ObjectStoreError) -> [UInt8] {
        try range.validate(key: key)
        return try await policy.run { _ throws(ObjectStoreError) in
            let bytes = try await attempt(key) { () throws(ObjectStoreError) in try await base.get(key, range: range) }
            try await checkLength(bytes.count, of: range, key: key)
            return bytes
        }
    }

    public func head(_ key: ObjectKey) async throws(ObjectStoreError) -> ObjectMetadata {
        try await policy.run { _ throws(ObjectStoreError) in
            try await attempt(key) { () throws(ObjectStoreError) in try await base.head(key) }
        }
    }

    public func list(prefix: String, pageToken: String?, maxKeys: Int) async throws(ObjectStoreError) -> ObjectListing {
        try await policy.run { _ throws(ObjectStoreError) in
            try await attempt(nil) { () throws(ObjectStoreError) in try await base.list(prefix: prefix, pageToken: pageToken, maxKeys: maxKeys) }
        }
    }

    public func delete(_ key: ObjectKey) async throws(ObjectStoreError) {
        try await policy.run { _ throws(ObjectStoreError) in
            try await attempt(key) { () throws(ObjectStoreError) in try await base.delete(key) }
        }
    }

    /// A read of `range` returned `count` bytes: right when the range lies inside the object
    /// and `count` is its length, or when the object ends first. Only a short answer needs
    /// the object's size (one `head`).
    func checkLength(_ count: Int, of range: ByteRange, key: ObjectKey) async throws(ObjectStoreError) {
        switch range {
        case .bounded(_, let length) where count == length: return
        case .suffix(let length) where count == length: return
        default: break
        }
        let size = try await attempt(key) { () throws(ObjectStoreError) in try await base.head(key) }.size
        let expected = try range.resolve(size: size, key: key).count
        guard count == expected else {
            throw ObjectStoreError(count < expected ? .truncated : .io, key: key.rawValue,
                                   "read of \(range) returned \(count) bytes, the object holds \(expected) there")
        }
    }

    /// One attempt of `body`, abandoned as `.timeout` past the attempt timeout and as
    /// `.cancelled` when the caller is cancelled (the abandoned call's result is dropped).
    func attempt<T: Sendable>(
        _ key: ObjectKey?, _ body: @escaping @Sendable () async throws(ObjectStoreError) -> T
    ) async throws(ObjectStoreError) -> T {
        if Task.isCancelled { throw ObjectStoreError(.cancelled, key: key?.rawValue, "cancelled before the call") }
        guard let timeout = attemptTimeoutMillis else { return try await body() }
        let race = AttemptRace<T>()
        let result: Result<T, ObjectStoreError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                race.start(continuation)
                let timer = Task {
                    try? await Task.sleep(for: .milliseconds(timeout))
                    race.finish(.failure(ObjectStoreError(.timeout, key: key?.rawValue, "no answer within \(timeout) ms")))
                }
                race.setWork(Task {
                    do throws(ObjectStoreError) { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
                    timer.cancel()
                })
            }
        } onCancel: {
            race.finish(.failure(ObjectStoreError(.cancelled, key: key?.rawValue, "cancelled during the call")))
        }
        return try result.get()
    }
}

/// The first of an attempt's answer, its timeout and its caller's cancellation wins; the
/// others are dropped, and a losing call is cancelled.
final class AttemptRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Result<T, ObjectStoreError>, Never>?
        var early: Result<T, ObjectStoreError>?
        var done = false
        var work: Task<Void, Never>?
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<Result<T, ObjectStoreError>, Never>) {
        let early = state.withLock { state -> Result<T, ObjectStoreError>? in
            if let early = state.early { return early }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(returning: early) }
    }

    func setWork(_ task: Task<Void, Never>) {
        let cancel = state.withLock { state -> Bool in
            state.work = task
            return state.done
        }
        if cancel { task.cancel() }
    }

    func finish(_ result: Result<T, ObjectStoreError>) {
        let (continuation, work) = state.withLock { state -> (CheckedContinuation<Result<T, ObjectStoreError>, Never>?, Task<Void, Never>?) in
            guard !state.done else { return (nil, nil) }
            state.done = true
            guard let continuation = state.continuation else {
                state.early = result  // cancelled before the continuation existed
                return (nil, state.work)
            }
            state.continuation = nil
            return (continuation, state.work)
        }
        continuation?.resume(returning: result)
        if case .failure = result { work?.cancel() }
    }
}
