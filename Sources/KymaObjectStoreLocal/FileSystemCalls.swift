// Thin, checked wrappers over the POSIX calls the local store uses.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KymaObjectStore

enum FileSystemCalls {
    static func error(_ code: Int32, key: ObjectKey?, _ operation: String) -> ObjectStoreError {
        let reason = String(cString: strerror(code))
        switch code {
        case ENOENT, ENOTDIR:
            return ObjectStoreError(.notFound, key: key?.rawValue, "no such object")
        case EACCES, EPERM:
            return ObjectStoreError(.unauthorized, key: key?.rawValue, "\(operation): \(reason)")
        case ENAMETOOLONG:
            return ObjectStoreError(.invalidKey, key: key?.rawValue, "\(operation): \(reason)")
        default:
            return ObjectStoreError(.io, key: key?.rawValue, "\(operation): \(reason)")
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `mkdir -p`: creates each missing directory of `path`.
    static func makeDirectories(_ path: String) throws(ObjectStoreError) {
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw ObjectStoreError(.io, key: nil, "'\(path)' exists and is not a directory")
            }
            return
        }
        var current = ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            current += "/" + component
            if mkdir(current, 0o755) != 0 {
                let code = errno
                if code == EEXIST {
                    guard stat(current, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                        throw ObjectStoreError(.io, key: nil, "'\(current)' exists and is not a directory")
                    }
                    continue
                }
                throw error(code, key: nil, "mkdir '\(current)'")
            }
        }
    }

    static func writeAll(fd: Int32, _ bytes: [UInt8], key: ObjectKey) throws(ObjectStoreError) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress! + written, buffer.count - written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw error(errno, key: key, "write")
            }
            written += n
        }
    }

    static func read(path: String, key: ObjectKey, range: ByteRange?) throws(ObjectStoreError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw error(errno, key: key, "open") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw error(errno, key: key, "fstat") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw ObjectStoreError(.notFound, key: key.rawValue, "no such object") }
        let size = Int(info.st_size)
        let span = try range?.resolve(size: size, key: key) ?? 0..<size
        var result = [UInt8](repeating: 0, count: span.count)
        var done = 0
        while done < span.count {
            let n = result.withUnsafeMutableBytes { buffer in
                pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(span.lowerBound + done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw error(errno, key: key, "read")
            }
            if n == 0 { throw ObjectStoreError(.io, key: key.rawValue, "object shrank while being read") }
            done += n
        }
        return result
    }

    /// fsyncs the directory holding `path`, so a rename or link in it survives a crash.
    static func syncDirectory(of path: String) {
        let fd = open(parentDirectory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    static func modifiedMillis(_ info: stat) -> Int64 {
        Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000
    }

    /// A name no other writer in any process picks: pid, time and randomness.
    static func uniqueName() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return "\(getpid())-\(now.tv_sec)\(now.tv_nsec)-\(UInt64.random(in: 0...UInt64.max))"
    }
}

/// Walks the tree under a root in the lexicographic order of the keys it holds, skipping
/// subtrees that cannot hold a key matching the prefix or following the page token, and stops
/// once it has `limit` keys.
///
/// Keys order by UTF-8 bytes, so a directory `a` (whose keys start `a/`) sorts as the string
/// `a/`: after a file `a-b` ('-' < '/') and before a file `a0`.
struct SortedTreeWalker {
    let root: String
    let prefix: [UInt8]
    let startAfter: [UInt8]?
    let limit: Int
    var found: [ObjectMetadata] = []

    init(root: String, prefix: String, startAfter: String?, limit: Int) {
        self.root = root
        self.prefix = Array(prefix.utf8)
        self.startAfter = startAfter.map { Array($0.utf8) }
        self.limit = limit
    }

    private struct Entry {
        var name: String
        var sortKey: [UInt8]
        var isDirectory: Bool
        var info: stat
    }

    mutating func walk(directory: String, relativePrefix: String) throws(ObjectStoreError) {
        let path = directory.isEmpty ? root : root + "/" + directory
        guard let handle = opendir(path) else {
            if errno == ENOENT { return }  // removed while listing
            throw FileSystemCalls.error(errno, key: nil, "opendir")
        }
        var entries: [Entry] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." { continue }
            if directory.isEmpty && name == LocalFileSystemObjectStore.tempDirectoryName { continue }
            var info = stat()
            guard lstat(path + "/" + name, &info) == 0 else { continue }
            let type = info.st_mode & S_IFMT
            guard type == S_IFDIR || type == S_IFREG else { continue }
            let isDirectory = type == S_IFDIR
            let relative = relativePrefix + name + (isDirectory ? "/" : "")
            entries.append(Entry(name: name, sortKey: Array(relative.utf8), isDirectory: isDirectory, info: info))
        }
        closedir(handle)
        // Byte order of the keys (as S3 lists them), by memcmp: this sort runs over every entry
        // of a directory, and a cache directory can hold tens of thousands.
        entries.sort { a, b in
            a.sortKey.withUnsafeBufferPointer { x in
                b.sortKey.withUnsafeBufferPointer { y in
                    let n = min(x.count, y.count)
                    let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                    return c < 0 || (c == 0 && x.count < y.count)
                }
            }
        }

        for entry in entries {
            if found.count >= limit { return }
            let key = entry.sortKey
            if entry.isDirectory {
                guard subtreeMayMatch(key) else { continue }
                try walk(directory: directory.isEmpty ? entry.name : directory + "/" + entry.name,
                         relativePrefix: String(decoding: key, as: UTF8.self))
            } else {
                guard key.starts(with: prefix) else { continue }
                if let startAfter, !startAfter.lexicographicallyPrecedes(key) { continue }
                let text = String(decoding: key, as: UTF8.self)
                guard let objectKey = try? ObjectKey(text) else { continue }
                found.append(ObjectMetadata(key: objectKey, size: Int(entry.info.st_size),
                                            lastModifiedMillis: FileSystemCalls.modifiedMillis(entry.info)))
            }
        }
    }

    /// Whether a subtree whose keys all start with `subtree` can hold a key that matches the
    /// prefix and sorts after the page token.
    private func subtreeMayMatch(_ subtree: [UInt8]) -> Bool {
        let prefixCompatible = subtree.starts(with: prefix) || prefix.starts(with: subtree)
        guard prefixCompatible else { return false }
        if let startAfter, subtree.lexicographicallyPrecedes(startAfter), !startAfter.starts(with: subtree) {
            return false  // every key in the subtree sorts before the token
        }
        return true
    }
}
