// Key validation, range resolution and the retry policy: the protocol module's own logic.

import Testing
import KymaObjectStore

@Suite("ObjectKey")
struct ObjectKeyTests {
    @Test(arguments: ["", "/abs/path", "a//b", "a/../b", "../up", "./here", "a/.", "trailing/", "tab\there", "back\\slash",
                      String(repeating: "k", count: 1025)])
    func invalidKeysAreTypedErrors(candidate: String) {
        do {
            _ = try ObjectKey(candidate)
            Issue.record("'\(candidate)' was accepted")
        } catch {
            #expect(error.kind == .invalidKey)
        }
    }

    @Test(arguments: ["a", "a/b/c.tlm", "tables/t1/extents/0001-uuid.tlm", "dots.in.names/..x", "sp ace", String(repeating: "k", count: 1024)])
    func validKeys(candidate: String) throws {
        #expect(try ObjectKey(candidate).rawValue == candidate)
    }

    @Test func keysOrderByUTF8Bytes() throws {
        let keys = try ["a0", "a/x", "a-b", "é", "z"].map { try ObjectKey($0) }
        #expect(keys.sorted().map(\.rawValue) == ["a-b", "a/x", "a0", "z", "é"])
    }
}

@Suite("ByteRange")
struct ByteRangeTests {
    @Test func resolvesAgainstASize() throws {
        let k = try ObjectKey("k")
        #expect(try ByteRange.bounded(offset: 2, length: 3).resolve(size: 10, key: k) == 2..<5)
        #expect(try ByteRange.bounded(offset: 8, length: 5).resolve(size: 10, key: k) == 8..<10)
        #expect(try ByteRange.from(offset: 3).resolve(size: 10, key: k) == 3..<10)
        #expect(try ByteRange.suffix(length: 4).resolve(size: 10, key: k) == 6..<10)
        #expect(try ByteRange.suffix(length: 40).resolve(size: 10, key: k) == 0..<10)
        #expect(throws: ObjectStoreError.self) { try ByteRange.bounded(offset: 10, length: 1).resolve(size: 10, key: k) }
        #expect(ByteRange.bounded(offset: 0, length: 100).httpHeaderValue == "bytes=0-99")
        #expect(ByteRange.suffix(length: 8).httpHeaderValue == "bytes=-8")
    }
}

@Suite("RetryPolicy")
struct RetryPolicyTests {
    final class Counter: @unchecked Sendable { var value = 0 }

    @Test func retriesTransientErrorsThenSucceeds() async throws {
        let counter = Counter()
        let policy = RetryPolicy(maxAttempts: 5, baseDelayMillis: 1, maxDelayMillis: 4)
        let result = try await policy.run { attempt throws(ObjectStoreError) -> Int in
            counter.value += 1
            if attempt < 3 { throw ObjectStoreError(.service, "HTTP 503") }
            return attempt
        }
        #expect(result == 3)
        #expect(counter.value == 3)
    }

    @Test(arguments: [ObjectStoreError.Kind.notFound, .unauthorized, .alreadyExists, .invalidKey, .invalidRange, .io])
    func neverRetriesFinalErrors(kind: ObjectStoreError.Kind) async {
        let counter = Counter()
        let policy = RetryPolicy(maxAttempts: 5, baseDelayMillis: 1, maxDelayMillis: 4)
        do {
            _ = try await policy.run { _ throws(ObjectStoreError) -> Int in
                counter.value += 1
                throw ObjectStoreError(kind, "final")
            }
        } catch {
            #expect(error.kind == kind)
        }
        #expect(counter.value == 1)
    }

    @Test func givesUpAfterMaxAttempts() async {
        let counter = Counter()
        let policy = RetryPolicy(maxAttempts: 4, baseDelayMillis: 1, maxDelayMillis: 2)
        await #expect(throws: ObjectStoreError.self) {
            _ = try await policy.run { _ throws(ObjectStoreError) -> Int in
                counter.value += 1
                throw ObjectStoreError(.timeout, "slow")
            }
        }
        #expect(counter.value == 4)
    }

    @Test func backoffGrowsAndIsCapped() {
        let policy = RetryPolicy(maxAttempts: 10, baseDelayMillis: 50, maxDelayMillis: 1000)
        #expect((2...8).map { policy.delayCapMillis(beforeAttempt: $0) } == [50, 100, 200, 400, 800, 1000, 1000])
    }
}
