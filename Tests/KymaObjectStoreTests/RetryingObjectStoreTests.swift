// The retry layer against a store that fails on purpose: every fault kind is absorbed, a short
// read is never passed on, a lost put answer is recognised, a hung call is abandoned at the
// attempt deadline, a cancelled caller stops at once, and final errors are not retried.

import Testing
import KymaObjectStore
import KymaObjectStoreLocal
import KymaTestSupport

@Suite("RetryingObjectStore")
struct RetryingObjectStoreTests {
    func local() throws -> LocalFileSystemObjectStore {
        try LocalFileSystemObjectStore(root: TestServices.makeTemporaryDirectory("kyma-retry"))
    }

    @Test func everyFaultIsAbsorbedAndEveryByteIsRight() async throws {
        let base = try local()
        let faulty = FaultInjectingObjectStore(base: base, faults: Set(StoreFault.allCases), rate: 0.4, seed: 5, slowMillis: 2)
        faulty.schedule(StoreFault.allCases)
        let store = RetryingObjectStore(base: faulty, policy: RetryPolicy(maxAttempts: 12, baseDelayMillis: 1, maxDelayMillis: 4),
                                        attemptTimeoutMillis: 100)
        var generator = SplitMix64(seed: 9)
        for index in 0..<60 {
            let bytes = (0..<(100 + index * 37)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let key = try ObjectKey("objects/\(index)")
            try await store.putIfAbsent(key, bytes)
            #expect(try await store.get(key) == bytes)
            #expect(try await store.get(key, range: .bounded(offset: 10, length: 50)) == Array(bytes[10..<60]))
            #expect(try await store.get(key, range: .suffix(length: 64)) == Array(bytes.suffix(64)))
            #expect(try await store.get(key, range: .from(offset: 90)) == Array(bytes[90...]))
            #expect(try await store.head(key).size == bytes.count)
        }
        #expect(try await store.listAll(prefix: "objects/").count == 60)
        for fault in StoreFault.allCases { #expect(faulty.injected[fault, default: 0] > 0, "\(fault)") }
    }

    @Test func aShortReadIsNeverPassedOn() async throws {
        let base = try local()
        let key = try ObjectKey("k")
        try await base.put(key, Array(0..<200))
        let faulty = FaultInjectingObjectStore(base: base, faults: [.truncatedRead], rate: 1, seed: 1)
        let store = RetryingObjectStore(base: faulty, policy: RetryPolicy(maxAttempts: 3, baseDelayMillis: 1, maxDelayMillis: 1))
        await #expect(throws: ObjectStoreError(.truncated, key: "k", "read of bytes=0-99 returned 50 bytes, the object holds 100 there")) {
            _ = try await store.get(key, range: .bounded(offset: 0, length: 100))
        }
        #expect(faulty.injected[.truncatedRead] == 3, "every attempt met the fault")
        // A range that runs past the end is short by right, not truncated.
        faulty.setEnabled(false)
        #expect(try await store.get(key, range: .bounded(offset: 150, length: 100)) == Array(150..<200))
    }

    @Test func aPutWhoseAnswerWasLostIsRecognisedAsOurs() async throws {
        let base = try local()
        let faulty = FaultInjectingObjectStore(base: base, faults: [], rate: 0, seed: 1)
        let store = RetryingObjectStore(base: faulty, policy: RetryPolicy(maxAttempts: 3, baseDelayMillis: 1, maxDelayMillis: 1))
        let key = try ObjectKey("created-once")
        faulty.schedule([.failedPutAfterWrite])
        try await store.putIfAbsent(key, [1, 2, 3])  // written, answer lost, retried: found to be ours
        #expect(try await base.get(key) == [1, 2, 3])
        // Someone else's object under the key is still a conflict.
        faulty.schedule([.failedPutAfterWrite])
        let other = try ObjectKey("someone-elses")
        try await base.put(other, [9])
        await #expect(throws: ObjectStoreError.self) { try await store.putIfAbsent(other, [1]) }
    }

    @Test func finalErrorsAreNotRetriedAndTransientOnesGiveUpAtTheCap() async throws {
        let base = try local()
        let faulty = FaultInjectingObjectStore(base: base, faults: [.serviceError], rate: 1, seed: 1)
        let store = RetryingObjectStore(base: faulty, policy: RetryPolicy(maxAttempts: 4, baseDelayMillis: 1, maxDelayMillis: 1))
        do {
            _ = try await store.get(try ObjectKey("any"))
            Issue.record("succeeded through a store that always fails")
        } catch {
            #expect(error.kind == .service)
        }
        #expect(faulty.calls == 4, "four attempts, then the error")
        faulty.setEnabled(false)
        let before = faulty.calls
        do {
            _ = try await store.get(try ObjectKey("missing"))
            Issue.record("found a missing key")
        } catch {
            #expect(error.kind == .notFound)
        }
        #expect(faulty.calls == before + 1, "not found is final: one attempt")
    }

    @Test func aHungCallIsAbandonedAtTheAttemptDeadline() async throws {
        let base = try local()
        let key = try ObjectKey("k")
        try await base.put(key, [7])
        let faulty = FaultInjectingObjectStore(base: base, faults: [], rate: 0, seed: 1)
        faulty.schedule([.hang, .hang])
        let store = RetryingObjectStore(base: faulty, policy: RetryPolicy(maxAttempts: 3, baseDelayMillis: 1, maxDelayMillis: 1),
                                        attemptTimeoutMillis: 50)
        #expect(try await store.get(key) == [7], "two hung attempts, then an answer")
        #expect(faulty.calls == 3)
    }

    @Test func aCancelledCallerStopsWaiting() async throws {
        let base = try local()
        let faulty = FaultInjectingObjectStore(base: base, faults: [], rate: 0, seed: 1)
        faulty.schedule([.hang])
        let store = RetryingObjectStore(base: faulty, policy: RetryPolicy(maxAttempts: 3, baseDelayMillis: 1, maxDelayMillis: 1),
                                        attemptTimeoutMillis: 3_600_000)
        let key = try ObjectKey("k")
        let call = Task { () -> ObjectStoreError.Kind? in
            do throws(ObjectStoreError) { _ = try await store.get(key); return nil } catch { return error.kind }
        }
        // Cancel once the call is inside the hung attempt.
        while faulty.calls == 0 { await Task.yield() }
        call.cancel()
        let kind = await call.value
        #expect(kind == .cancelled)
    }
}
