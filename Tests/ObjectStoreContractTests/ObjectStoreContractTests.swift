// One contract suite, every ObjectStore: local filesystem, S3 (moto_server on 127.0.0.1), the
// caching wrapper in front of each, and the retrying wrapper in front of S3. Every test runs against every implementation.

import Testing
import KymaObjectStore
import KymaObjectStoreCache
import KymaObjectStoreLocal
import KymaObjectStoreS3
import KymaTestSupport

enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case local, s3, cachedLocal, cachedS3, retryingS3

    var testDescription: String { rawValue }

    /// A new, empty store of this kind with its own namespace.
    func makeStore() async throws -> any ObjectStore {
        switch self {
        case .local:
            return try LocalFileSystemObjectStore(root: TestServices.makeTemporaryDirectory("kyma-contract"))
        case .s3:
            return try await Self.makeS3Store()
        case .cachedLocal:
            let source = try LocalFileSystemObjectStore(root: TestServices.makeTemporaryDirectory("kyma-contract"))
            let cache = try LocalFileSystemObjectStore(root: TestServices.makeTemporaryDirectory("kyma-contract-cache"))
            return await CachingObjectStore(source: source, cache: cache, capacityBytes: 64 << 20)
        case .cachedS3:
            let cache = try LocalFileSystemObjectStore(root: TestServices.makeTemporaryDirectory("kyma-contract-cache"))
            return await CachingObjectStore(source: try await Self.makeS3Store(), cache: cache, capacityBytes: 64 << 20)
        case .retryingS3:
            return RetryingObjectStore(base: try await Self.makeS3Store(), policy: RetryPolicy(maxAttempts: 3, baseDelayMillis: 20, maxDelayMillis: 200),
                                       attemptTimeoutMillis: 30_000)
        }
    }

    /// A bucket on the harness's moto_server, under a unique prefix.
    static func makeS3Store() async throws -> S3ObjectStore {
        let endpoint = try TestServices.require("KYMA_S3_ENDPOINT")
        let configuration = S3Configuration(
            endpoint: endpoint, region: "us-east-1", bucket: "kyma-contract", prefix: TestServices.uniqueName("run"),
            credentials: S3Credentials(accessKeyID: "testing", secretAccessKey: "testing"))
        let store = S3ObjectStore(configuration)
        try await store.createBucketIfMissing()
        return store
    }
}

func key(_ text: String) throws -> ObjectKey { try ObjectKey(text) }

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

func expectKind(_ kind: ObjectStoreError.Kind, _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected an ObjectStoreError of kind \(kind), got success")
    } catch let error as ObjectStoreError {
        #expect(error.kind == kind, "\(error)")
    } catch {
        Issue.record("expected ObjectStoreError(\(kind)), got \(error)")
    }
}

@Suite("ObjectStore contract")
struct ObjectStoreContractTests {
    @Test(arguments: StoreKind.allCases)
    func putThenGetReturnsTheSameBytes(kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        for size in [0, 1, 1000, 1 << 20] {
            let bytes = randomBytes(size)
            let k = try key("objects/size-\(size).bin")
            try await store.put(k, bytes)
            #expect(try await store.get(k) == bytes)
            #expect(try await store.head(k).size == size)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func putReplacesAnExistingObject(kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        let k = try key("replace/me")
        try await store.put(k, Array("first".utf8))
        _ = try await store.get(k)  // warm any cache
        try await store.put(k, Array("second version".utf8))
        #expect(try await store.get(k) == Array("second version".utf8))
    }

    @Test(arguments: StoreKind.allCases)
    func missingObjectsAreNotFound(kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        let k = try key("no/such/object")
        await expectKind(.notFound) { _ = try await store.get(k) }
        await expectKind(.notFound) { _ = try await store.get(k, range: .suffix(length: 4)) }
        await expectKind(.notFound) { _ = try await store.head(k) }
    }

    @Test(arguments: StoreKind.allCases)
    func putIfAbsentHasExactlyOneWinner(kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        let k = try key("race/winner")
        try await store.putIfAbsent(k, Array("one".utf8))
        await expectKind(.alreadyExists) { try await store.putIfAbsent(k, Array("two".utf8)) }
        #expect(try await store.get(k) == Array("one".utf8))

        // Eight concurrent creators of a fresh key: one wins, seven get alreadyExists, and the
        // object holds the winner's bytes.
        let contested = try key("race/contested")
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for racer in 0..<8 {
                group.addTask {
                    do {
                        try await store.putIfAbsent(contested, Array("racer \(racer)".utf8))
                        return (racer, true)
                    } catch let error as ObjectStoreError {
                        #expect(error.kind == .alreadyExists, "\(error)")
                        return (racer, false)
                    } catch {
                        Issue.record("unexpected \(error)")
                        return (racer, false)
                    }
                }
            }
            var results: [(Int, Bool)] = []
            for await result in group { results.append(result) }
            return results
        }
        let winners = outcomes.filter { $0.1 }.map { $0.0 }
        #expect(winners.count == 1)
        if let winner = winners.first {
            #expect(try await store.get(contested) == Array("racer \(winner)".utf8))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func rangesFollowTheContract(kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        let bytes = (0..<100).map { UInt8($0) }
        let k = try key("ranges/hundred")
        try await store.put(k, bytes)
        #expect(try await store.get(k, range: .bounded(offset: 10, length: 5)) == Array(bytes[10..<15]))
        #expect(try await store.get(k, range: .bounded(offset: 0, length: 1)) == [0])
        #expect(try await store.get(k, range: .bounded(offset: 95, length: 50)) == Array(bytes[95...]), "a range past the end is cut")
        #expect(try await store.get(k, range: .from(offset: 60)) == Array(bytes[60...]))
        #expect(try await store.get(k, range: .suffix(length: 8)) == Array(bytes[92...]))
        #expect(try await store.get(k, range: .suffix(length: 500)) == bytes, "a suffix longer than the object is all of it")
        await expectKind(.invalidRange) { _ = try await store.get(k, range: .bounded(offset: 100, length: 1)) }
        await expectKind(.invalidRange) { _ = try await store.get(k, range: .from(offset: 250)) }
        await expectKind(.invalidRange) { _ = try await store.get(k, range: .bounded(offset: -1, length: 3)) }
        await expectKind(.invalidRange) { _ = try await store.get(k, range: .suffix(length: 0)) }
        // Range results after a full read (served from a cached whole object when cached).
        _ = try await store.get(k)
        #expect(try await store.get(k, range: .bounded(offset: 40, length: 3)) == [40, 41, 42])
        #expect(try await store.get(k, range: .suffix(length: 2)) == [98, 99])
    }

    @Test(arguments: StoreKind.allCases)
    func listIsLexicographicPagedAndPrefixFiltered(kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        // Names chosen so directory order and byte order disagree: '-' < '/' < '0'.
        let names = ["a-b", "a/x", "a/b/c", "a0", "a/b-d", "b", "ab/c", "a/b/c2", "z/z/z"]
        for name in names { try await store.put(try key(name), Array(name.utf8)) }
        let expected = names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }

        let onePage = try await store.list(prefix: "", pageToken: nil, maxKeys: 1000)
        #expect(onePage.objects.map(\.key.rawValue) == expected)
        #expect(onePage.nextPageToken == nil)
        #expect(onePage.objects.first { $0.key.rawValue == "a/b/c" }?.size == 5)

        var paged: [String] = []
        var token: String? = nil
        var pages = 0
        repeat {
            let page = try await store.list(prefix: "", pageToken: token, maxKeys: 2)
            #expect(page.objects.count <= 2)
            paged += page.objects.map(\.key.rawValue)
            token = page.nextPageToken
            pages += 1
        } while token != nil && pages < 20
        #expect(paged == expected)

        #expect(try await store.listAll(prefix: "a/").map(\.key.rawValue) == expected.filter { $0.hasPrefix("a/") })
        #expect(try await store.listAll(prefix: "a/b").map(\.key.rawValue) == expected.filter { $0.hasPrefix("a/b") }, "prefixes need not end at a '/'")
        #expect(try await store.listAll(prefix: "nothing-here").isEmpty)
    }

    @Test(arguments: StoreKind.allCases)
    func deleteIsIdempotent(kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        let k = try key("delete/me")
        try await store.put(k, [1, 2, 3])
        _ = try await store.get(k)
        try await store.delete(k)
        try await store.delete(k)
        await expectKind(.notFound) { _ = try await store.get(k) }
        #expect(try await store.listAll(prefix: "delete/").isEmpty)
        try await store.delete(try key("never/existed"))
    }

    @Test(arguments: StoreKind.allCases)
    func keysWithSpecialCharactersRoundTrip(kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        let names = ["sp ace/file name.txt", "plus+and&amp/x", "percent%20/y", "unicodé/日本語", "tilde~/under_score", "q?uery=1"]
        for name in names {
            try await store.put(try key(name), Array(name.utf8))
            #expect(try await store.get(try key(name)) == Array(name.utf8), "\(name)")
        }
        #expect(Set(try await store.listAll(prefix: "").map(\.key.rawValue)) == Set(names))
    }

    @Test(arguments: StoreKind.allCases)
    func readersNeverSeeAPartialObject(kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        let k = try key("atomic/object")
        let size = 256 << 10
        try await store.put(k, [UInt8](repeating: 0xAA, count: size))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for round in 0..<6 { try await store.put(k, [UInt8](repeating: round % 2 == 0 ? 0x55 : 0xAA, count: size)) }
            }
            for _ in 0..<3 {
                group.addTask {
                    for _ in 0..<6 {
                        let bytes = try await store.get(k)
                        #expect(bytes.count == size)
                        #expect(bytes.allSatisfy { $0 == bytes[0] }, "a reader saw a mix of two versions")
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
