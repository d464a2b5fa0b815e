// k2i's log lines on stderr: text or JSON, filtered by level.

import Foundation
import KymaCore
import KymaExec

public struct K2ILog: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case trace, debug, info, warn, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        public init(_ name: String) {
            self = ["trace": .trace, "debug": .debug, "info": .info, "warn": .warn, "error": .error][name] ?? .info
        }
    }

    public let level: Level
    public let json: Bool

    public init(level: Level = .info, json: Bool = false) {
        self.level = level
        self.json = json
    }

    public func log(_ level: Level, _ message: String, _ fields: [String: String] = [:]) {
        guard level >= self.level else { return }
        // Milliseconds: flushes and commits are tens of milliseconds apart. (Not a Foundation
        // date formatter: making one per line cost more than the rest of a commit's logging.)
        let time = TimeText.rfc3339(Int64(Date().timeIntervalSince1970 * 1000) * 1_000_000, fractionDigits: 3)
        let name = "\(level)".uppercased()
        let line: String
        if json {
            var object = fields
            object["ts"] = time
            object["level"] = name
            object["msg"] = message
            line = (try? JSONText.string(object)) ?? message
        } else {
            line = "\(time) \(name) \(message)" + fields.sorted { $0.key < $1.key }.map { " \($0)=\($1)" }.joined()
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    public func info(_ m: String, _ f: [String: String] = [:]) { log(.info, m, f) }
    public func warn(_ m: String, _ f: [String: String] = [:]) { log(.warn, m, f) }
    public func error(_ m: String, _ f: [String: String] = [:]) { log(.error, m, f) }
    public func debug(_ m: String, _ f: [String: String] = [:]) { log(.debug, m, f) }
}
