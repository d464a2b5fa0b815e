// The one error type of segment formats.

import KymaObjectStore

public enum FormatError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The bytes of `key` are damaged at `offset`.
    case corrupt(key: String, offset: Int, reason: String)
    case unknownFormat(key: String, tail: [UInt8])
    /// `key` says at `offset` that it is `format` version `version`, which this binary does not read.
    case unsupportedVersion(key: String, offset: Int, format: String, version: Int)
    case invalidOption(name: String, reason: String)
    case schemaMismatch(String)
    case store(ObjectStoreError)
    case writerFinished

    public var description: String {
        switch self {
        case .corrupt(let key, let offset, let reason): "corrupt extent '\(key)' at byte \(offset): \(reason)"
        case .unknownFormat(let key, let tail): "'\(key)' is not an extent of a known format (tail bytes \(tail))"
        case .unsupportedVersion(let key, let offset, let format, let version):
            "'\(key)' is \(format) version \(version) (byte \(offset)), which this binary does not read"
        case .invalidOption(let name, let reason): "invalid format option '\(name)': \(reason)"
        case .schemaMismatch(let what): "schema mismatch: \(what)"
        case .store(let error): "\(error)"
        case .writerFinished: "the extent writer is already finished"
        }
    }
}
