// Reading a whole local file (inputs, configuration, benchmark vectors) without Foundation.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a local file could not be read.
public struct LocalFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case notFound
        /// The path names a directory (or another non-regular file a read makes no sense of).
        case notAFile
        case unreadable
    }

    public var kind: Kind
    public var path: String
    public var reason: String

    public var description: String {
        switch kind {
        case .notFound: "'\(path)': no such file"
        case .notAFile: "'\(path)' is \(reason), not a file"
        case .unreadable: "cannot read '\(path)': \(reason)"
        }
    }
}

public enum LocalFile {
    /// Every byte of the regular file (or pipe) at `path`.
    public static func read(_ path: String) throws(LocalFileError) -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            throw LocalFileError(kind: code == ENOENT ? .notFound : .unreadable, path: path, reason: String(cString: strerror(code)))
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: throw LocalFileError(kind: .notAFile, path: path, reason: "a directory")
        case S_IFREG, S_IFIFO, S_IFCHR: break  // FIFOs and /dev/stdin are streams of lines too
        default: throw LocalFileError(kind: .notAFile, path: path, reason: "a special file")
        }
        guard let file = fopen(path, "rb") else {
            throw LocalFileError(kind: .unreadable, path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        if info.st_mode & S_IFMT == S_IFREG { bytes.reserveCapacity(Int(info.st_size)) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        if ferror(file) != 0 {
            throw LocalFileError(kind: .unreadable, path: path, reason: String(cString: strerror(errno)))
        }
        return bytes
    }

    /// Every byte of the file at `path`, or nil when it cannot be read.
    public static func readAll(_ path: String) -> [UInt8]? {
        try? read(path)
    }
}
