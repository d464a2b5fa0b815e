// KymaObjectStoreLocal: `ObjectStore` on a local directory, Kyma's default store.
// Objects are files under the root; writes go to a temp file that is fsynced and then renamed
// (put) or hard-linked (putIfAbsent) into place, so readers never see a partial object.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KymaCore
import KymaObjectStore

/// An `ObjectStore` whose objects are files under `root`.
///
/// Layout: the object `a/b/c` is the file `root/a/b/c`. Temp files live in `root/.kyma-tmp`,
/// which is not part of the key space (a key whose first segment is `.kyma-tmp` is invalid
/// here). The store never creates, renames or deletes anything outside `root`: keys cannot
/// climb (`..` is invalid) and a parent directory that resolves outside `root` through a
/// symbolic link is refused.
public struct LocalFileSystemObjectStore: ObjectStore {
    static let tempDirectoryName = ".kyma-tmp"

    /// The absolute, symlink-resolved root directory.
    public let root: String

    /// Opens (and creates, if missing) the store rooted at the absolute path `root`.
    public init(root: String) throws(ObjectStoreError) {
        guard root.hasPrefix("/") else {
            throw ObjectStoreError(.io, "local store root must be an absolute path, got '\(root)'")
        }
        try FileSystemCalls.makeDirectories(root)
        guard let resolved = FileSystemCalls.realPath(root) else {
            throw ObjectStoreError(.io, "cannot resolve local store root '\(root)'")
        }
        self.root = resolved
        try FileSystemCalls.makeDirectories(resolved + "/" + Self.tempDirectoryName)
    }

    public var description: String { "file://\(root)" }

    // MARK: - Writes

    public func put(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) {
        let path = try objectPath(key)
        try await offload { () throws(ObjectStoreError) in
            let temp = try writeTempFile(bytes, key: key)
            try prepareParent(of: path, key: key)
            guard rename(temp, path) == 0 else {
                let code = errno
                unlink(temp)
                throw FileSystemCalls.error(code, key: key, "rename into place")
            }
            FileSystemCalls.syncDirectory(of: path)
        }
    }

    public func putIfAbsent(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) {
        let path = try objectPath(key)
        try await offload { () throws(ObjectStoreError) in
            let temp = try writeTempFile(bytes, key: key)
            defer { unlink(temp) }
            try prepareParent(of: path, key: key)
            // link(2) fails with EEXIST when the target exists: the atomic "create if absent".
            guard link(temp, path) == 0 else {
                let code = errno
                if code == EEXIST { throw ObjectStoreError(.alreadyExists, key: key.rawValue, "object already exists") }
                throw FileSystemCalls.error(code, key: key, "link into place")
            }
            FileSystemCalls.syncDirectory(of: path)
        }
    }

    public func delete(_ key: ObjectKey) async throws(ObjectStoreError) {
        let path = try objectPath(key)
        try await offload { () throws(ObjectStoreError) in
            if unlink(path) != 0 {
                let code = errno
                if code == ENOENT || code == ENOTDIR { return }
                throw FileSystemCalls.error(code, key: key, "unlink")
            }
            FileSystemCalls.syncDirectory(of: path)
        }
    }

    // MARK: - Reads

    public func get(_ key: ObjectKey) async throws(ObjectStoreError) -> [UInt8] {
        let path = try objectPath(key)
        return try await offload { () throws(ObjectStoreError) in
            try FileSystemCalls.read(path: path, key: key, range: nil)
        }
    }

    public func get(_ key: ObjectKey, range: ByteRange) async throws(ObjectStoreError) -> [UInt8] {
        let path = try objectPath(key)
        try range.validate(key: key)
        return try await offload { () throws(ObjectStoreError) in
            try FileSystemCalls.read(path: path, key: key, range: range)
        }
    }

    public func head(_ key: ObjectKey) async throws(ObjectStoreError) -> ObjectMetadata {
        let path = try objectPath(key)
        return try await offload { () throws(ObjectStoreError) in
            var info = stat()
            guard stat(path, &info) == 0 else { throw FileSystemCalls.error(errno, key: key, "stat") }
            guard (info.st_mode & S_IFMT) == S_IFREG else { throw ObjectStoreError(.notFound, key: key.rawValue, "no such object") }
            return ObjectMetadata(key: key, size: Int(info.st_size), lastModifiedMillis: FileSystemCalls.modifiedMillis(info))
        }
    }

    public func list(prefix: String, pageToken: String?, maxKeys: Int) async throws(ObjectStoreError) -> ObjectListing {
        let limit = max(1, min(maxKeys, 10_000))
        let root = self.root
        return try await offload { () throws(ObjectStoreError) in
            var walker = SortedTreeWalker(root: root, prefix: prefix, startAfter: pageToken, limit: limit + 1)
            try walker.walk(directory: "", relativePrefix: "")
            var objects = walker.found
            var next: String? = nil
            if objects.count > limit {
                objects.removeLast(objects.count - limit)
                next = objects.last?.key.rawValue
            }
            return ObjectListing(objects: objects, nextPageToken: next)
        }
    }

    // MARK: - Paths

    func objectPath(_ key: ObjectKey) throws(ObjectStoreError) -> String {
        if key.rawValue == Self.tempDirectoryName || key.rawValue.hasPrefix(Self.tempDirectoryName + "/") {
            throw ObjectStoreError(.invalidKey, key: key.rawValue, "'\(Self.tempDirectoryName)' is reserved by the local store")
        }
        return root + "/" + key.rawValue
    }

    /// Writes `bytes` to a new temp file, fsyncs it and returns its path.
    private func writeTempFile(_ bytes: [UInt8], key: ObjectKey) throws(ObjectStoreError) -> String {
        let directory = root + "/" + Self.tempDirectoryName
        try FileSystemCalls.makeDirectories(directory)  // the temp directory may have been removed
        let temp = directory + "/" + FileSystemCalls.uniqueName()
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileSystemCalls.error(errno, key: key, "create temp file") }
        do throws(ObjectStoreError) {
            try FileSystemCalls.writeAll(fd: fd, bytes, key: key)
            guard fsync(fd) == 0 else { throw FileSystemCalls.error(errno, key: key, "fsync") }
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        close(fd)
        return temp
    }

    /// Creates the parent directories of `path` and checks they resolve inside the root.
    private func prepareParent(of path: String, key: ObjectKey) throws(ObjectStoreError) {
        let parent = FileSystemCalls.parentDirectory(of: path)
        try FileSystemCalls.makeDirectories(parent)
        guard let resolved = FileSystemCalls.realPath(parent), resolved == root || resolved.hasPrefix(root + "/") else {
            throw ObjectStoreError(.invalidKey, key: key.rawValue, "parent directory resolves outside the store root")
        }
    }

    private func offload<T: Sendable>(
        _ body: @escaping @Sendable () throws(ObjectStoreError) -> T
    ) async throws(ObjectStoreError) -> T {
        do {
            return try await BlockingIO.run { try body() }
        } catch let error as ObjectStoreError {
            throw error
        } catch {
            throw ObjectStoreError(.io, "\(error)")
        }
    }
}
