// KymaTestSupport: how tests find the real services harness/services started (PostgreSQL,
// moto_server). Linked only into test targets; no test ever substitutes a fake for them.

#if canImport(Glibc)
import Glibc
#endif

public enum TestServices {
    /// A service setting from the environment, else from the .kyma/services.env that
    /// `harness/services up` wrote in the package root (found from this file's path).
    public static func setting(_ name: String, filePath: String = #filePath) -> String? {
        if let value = getenv(name).map({ String(cString: $0) }), !value.isEmpty { return value }
        return servicesFile(from: filePath)[name]
    }

    /// Like `setting`, but a missing service is a test failure that says how to start it.
    public static func require(_ name: String, filePath: String = #filePath) throws -> String {
        guard let value = setting(name, filePath: filePath) else { throw MissingService(name: name) }
        return value
    }

    public struct MissingService: Error, CustomStringConvertible {
        public var name: String
        public var description: String { "\(name) is not set and .kyma/services.env has no value: run harness/services up (or harness/test)" }
    }

    /// The package root (the directory holding Package.swift) above `filePath`.
    public static func packageRoot(filePath: String = #filePath) -> String? {
        var current = filePath
        while let slash = current.lastIndex(of: "/"), current != "/" {
            current = slash == current.startIndex ? "/" : String(current[..<slash])
            if access(current + "/Package.swift", F_OK) == 0 { return current }
        }
        return nil
    }

    static func servicesFile(from filePath: String) -> [String: String] {
        guard let root = packageRoot(filePath: filePath), let file = fopen(root + "/.kyma/services.env", "r") else { return [:] }
        defer { fclose(file) }
        var values: [String: String] = [:]
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            var text = Substring(String(cString: line))
            while text.last == "\n" || text.last == "\r" { text = text.dropLast() }
            if text.hasPrefix("export ") { text = text.dropFirst(7) }
            guard let equals = text.firstIndex(of: "=") else { continue }
            var value = text[text.index(after: equals)...]
            if value.count >= 2, value.first == "'", value.last == "'" { value = value.dropFirst().dropLast() }
            values[String(text[..<equals])] = String(value)
        }
        return values
    }

    /// An environment variable, nil when unset or empty.
    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name).map({ String(cString: $0) }), !value.isEmpty else { return nil }
        return value
    }

    /// Appends `text` to the file at `path` (created when missing); one write, so lines from
    /// concurrent tests do not interleave.
    public static func append(_ text: String, to path: String) {
        guard let file = fopen(path, "a") else { return }
        defer { fclose(file) }
        _ = Array(text.utf8).withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
    }

    /// The shared public datasets: KYMA_DATASETS, else ../shared/datasets beside the package.
    public static func datasetsDirectory(filePath: String = #filePath) -> String {
        if let path = setting("KYMA_DATASETS", filePath: filePath) { return path }
        return (packageRoot(filePath: filePath) ?? ".") + "/../shared/datasets"
    }

    /// A fresh, unique name for a test-owned resource (database, bucket, directory).
    public static func uniqueName(_ prefix: String) -> String {
        "\(prefix)_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
    }

    /// A new empty directory under /tmp.
    public static func makeTemporaryDirectory(_ prefix: String) -> String {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { buffer in
            guard let result = mkdtemp(buffer.baseAddress!) else { return "/tmp/\(uniqueName(prefix))" }
            return String(cString: result)
        }
    }

    /// `rm -rf path`.
    public static func removeTree(_ path: String) {
        guard let directory = opendir(path) else {
            unlink(path)
            return
        }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            let child = path + "/" + name
            var info = stat()
            if lstat(child, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { removeTree(child) } else { unlink(child) }
        }
        closedir(directory)
        rmdir(path)
    }
}
