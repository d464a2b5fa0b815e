// A store wrapper that fails on purpose, for tests of everything above object storage.

import KymaObjectStore
import Synchronization

/// The faults a `FaultInjectingObjectStore` can inject.
public enum StoreFault: String, Sendable, Hashable, CaseIterable {
    /// The service answers 5xx: `.service`, nothing done.
    case serviceError
    /// The call reports `.timeout` at once, nothing done.
    case timeout
    /// The call never answers (until cancelled): a caller without a deadline would hang.
    case hang
    /// The call answers correctly after `slowMillis`.
    case slow
    /// A range read returns a prefix of the right bytes, without an error.
    case truncatedRead
    /// A put fails before anything is stored.
    case failedPut
    /// A put stores the object, then reports failure (its answer was lost).
    case failedPutAfterWrite

    var appliesToReads: Bool { self != .failedPut && self != .failedPutAfterWrite }
    var appliesToWrites: Bool { self != .truncatedRead }
}

/// Wraps a store and injects faults into a seeded fraction of calls: what each call meets is
/// decided by the seed, so a failing run replays. `injected` counts what was injected.
public final class FaultInjectingObjectStore: ObjectStore, Sendable {
    public let base: any ObjectStore
    public let faults: Set<StoreFault>
    /// The fraction of calls that meet a fault, 0...1.
    public let rate: Double
    public let slowMillis: Int

    private struct State {
        var random: SplitMix64
        var enabled = true
        var injected: [StoreFault: Int] = [:]
        var calls = 0
        var scheduled: [StoreFault] = []
    }
    private let state: Mutex<State>

    public init(base: any ObjectStore, faults: Set<StoreFault>, rate: Double, seed: UInt64, slowMillis: Int = 20) {
        self.base = base
        self.faults = faults
        self.rate = min(1, max(0, rate))
        self.slowMillis = slowMillis
        self.state = Mutex(State(random: SplitMix64(seed: seed)))
    }

    public var description: String { "faulty(\(base.description))" }

    /// Turns injection on or off (off: every call passes through).
    public func setEnabled(_ enabled: Bool) { state.withLock { $0.enabled = enabled } }

    /// Makes the next calls meet `faults`, in order (each on the next call it applies to),
    /// before any random ones: a test that must see every fault schedules them.
    public func schedule(_ faults: [StoreFault]) { state.withLock { $0.scheduled.append(contentsOf: faults) } }

    /// How many of each fault were injected so far.
    public var injected: [StoreFault: Int] { state.withLock { $0.injected } }
    public var totalInjected: Int { injected.values.reduce(0, +) }
    public var calls: Int { state.withLock { $0.calls } }

    /// The fault this call meets, if any.
    private func draw(write: Bool, rangeRead: Bool) -> StoreFault? {
        state.withLock { state in
            state.calls += 1
            guard state.enabled else { return nil }
            if let next = state.scheduled.first, write ? next.appliesToWrites : (next.appliesToReads && (next != .truncatedRead || rangeRead)) {
                state.scheduled.removeFirst()
                state.injected[next, default: 0] += 1
                return next
            }
            let roll = Double(state.random.next() % 1_000_000) / 1_000_000
            guard roll < rate else { return nil }
            let candidates = faults.filter { write ? $0.appliesToWrites : ($0.appliesToReads && ($0 != .truncatedRead || rangeRead)) }
                .sorted { $0.rawValue < $1.rawValue }
            guard !candidates.isEmpty else { return nil }
            let fault = candidates[Int(state.random.next() % UInt64(candidates.count))]
            state.injected[fault, default: 0] += 1
            return fault
        }
    }

    /// Applies a fault that fails or delays the call before it reaches the base store.
    private func before(_ fault: StoreFault?, _ key: ObjectKey?) async throws(ObjectStoreError) {
        switch fault {
        case .serviceError?: throw ObjectStoreError(.service, key: key?.rawValue, "injected: HTTP 503 Slow Down")
        case .timeout?: throw ObjectStoreError(.timeout, key: key?.rawValue, "injected: timed out")
        case .failedPut?: throw ObjectStoreError(.service, key: key?.rawValue, "injected: HTTP 500 before the write")
        case .hang?:
            try? await Task.sleep(for: .seconds(3600))
            throw ObjectStoreError(.cancelled, key: key?.rawValue, "injected: a hung call, abandoned")
        case .slow?:
            try? await Task.sleep(for: .milliseconds(slowMillis))
        default:
            break
        }
    }

    public func put(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) {
        let fault = draw(write: true, rangeRead: false)
        try await before(fault, key)
        try await base.put(key, bytes)
        if fault == .failedPutAfterWrite { throw ObjectStoreError(.unavailable, key: key.rawValue, "injected: connection reset after the write") }
    }

    public func putIfAbsent(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) {
        let fault = draw(write: true, rangeRead: false)
        try await before(fault, key)
        try await base.putIfAbsent(key, bytes)
        if fault == .failedPutAfterWrite { throw ObjectStoreError(.unavailable, key: key.rawValue, "injected: connection reset after the write") }
    }

    public func get(_ key: ObjectKey) async throws(ObjectStoreError) -> [UInt8] {
        let fault = draw(write: false, rangeRead: false)
        try await before(fault, key)
        return try await base.get(key)
    }

    public func get(_ key: ObjectKey, range: ByteRange) async throws(ObjectStoreError) -> [UInt8] {
        let fault = draw(write: false, rangeRead: true)
        try await before(fault, key)
        let bytes = try await base.get(key, range: range)
        if fault == .truncatedRead, bytes.count > 0 { return Array(bytes.prefix(bytes.count / 2)) }
        return bytes
    }

    public func head(_ key: ObjectKey) async throws(ObjectStoreError) -> ObjectMetadata {
        let fault = draw(write: false, rangeRead: false)
        try await before(fault, key)
        return try await base.head(key)
    }

    public func list(prefix: String, pageToken: String?, maxKeys: Int) async throws(ObjectStoreError) -> ObjectListing {
        let fault = draw(write: false, rangeRead: false)
        try await before(fault, nil)
        return try await base.list(prefix: prefix, pageToken: pageToken, maxKeys: maxKeys)
    }

    public func delete(_ key: ObjectKey) async throws(ObjectStoreError) {
        let fault = draw(write: true, rangeRead: false)
        try await before(fault, key)
        try await base.delete(key)
        if fault == .failedPutAfterWrite { throw ObjectStoreError(.unavailable, key: key.rawValue, "injected: connection reset after the delete") }
    }
}
