// Local-filesystem specifics: never writes outside the root, temp files stay out of listings.

import Testing
#if canImport(Glibc)
import Glibc
#endif
import KymaObjectStore
import KymaObjectStoreLocal
import KymaTestSupport

@Suite("LocalFileSystemObjectStore")
struct LocalStoreTests {
    @Test func objectsAreFilesUnderTheRoot() async throws {
        let root = TestServices.makeTemporaryDirectory("kyma-local")
        defer { TestServices.removeTree(root) }
        let store = try LocalFileSystemObjectStore(root: root)
        try await store.put(try ObjectKey("a/b/c.bin"), [9, 8, 7])
        var info = stat()
        #expect(stat(root + "/a/b/c.bin", &info) == 0)
        #expect(info.st_size == 3)
        #expect(try await store.listAll(prefix: "").map(\.key.rawValue) == ["a/b/c.bin"], "temp files are not listed")
    }

    @Test func refusesToWriteThroughASymlinkOutOfTheRoot() async throws {
        let root = TestServices.makeTemporaryDirectory("kyma-local")
        let outside = TestServices.makeTemporaryDirectory("kyma-outside")
        defer { TestServices.removeTree(root); TestServices.removeTree(outside) }
        let store = try LocalFileSystemObjectStore(root: root)
        #expect(symlink(outside, root + "/escape") == 0)
        await expectKind(.invalidKey) { try await store.put(try ObjectKey("escape/file"), [1]) }
        #expect(access(outside + "/file", F_OK) != 0, "nothing was written outside the root")
    }

    @Test func reservedTempDirectoryIsNotAKey() async throws {
        let root = TestServices.makeTemporaryDirectory("kyma-local")
        defer { TestServices.removeTree(root) }
        let store = try LocalFileSystemObjectStore(root: root)
        await expectKind(.invalidKey) { try await store.put(try ObjectKey(".kyma-tmp/x"), [1]) }
    }

    @Test func relativeRootIsRejected() {
        #expect(throws: ObjectStoreError.self) { try LocalFileSystemObjectStore(root: "relative/dir") }
    }
}
