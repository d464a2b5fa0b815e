// The TEXMEX .fvecs / .ivecs files ANN benchmarks use: per vector a little-endian int32
// dimension, then that many float32 (fvecs) or int32 (ivecs) values.

import KymaCore

public enum VectorFileError: Error, Sendable, Hashable, CustomStringConvertible {
    case unreadable(path: String)
    case malformed(path: String, offset: Int, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path): "cannot read '\(path)'"
        case .malformed(let path, let offset, let reason): "'\(path)' is not a vecs file at byte \(offset): \(reason)"
        }
    }
}

public enum VectorFiles {
    /// The vectors of a .fvecs file.
    public static func readFvecs(_ path: String) throws(VectorFileError) -> [[Float]] {
        try readWords(path).map { $0.map { Float(bitPattern: $0) } }
    }

    /// The rows of an .ivecs file (ground-truth neighbour ids).
    public static func readIvecs(_ path: String) throws(VectorFileError) -> [[UInt32]] {
        try readWords(path)
    }

    static func readWords(_ path: String) throws(VectorFileError) -> [[UInt32]] {
        guard let data = LocalFile.readAll(path) else { throw .unreadable(path: path) }
        func word(_ at: Int) -> UInt32 {
            UInt32(data[at]) | UInt32(data[at + 1]) << 8 | UInt32(data[at + 2]) << 16 | UInt32(data[at + 3]) << 24
        }
        var rows: [[UInt32]] = []
        var offset = 0
        while offset < data.count {
            guard offset + 4 <= data.count else { throw .malformed(path: path, offset: offset, reason: "truncated dimension") }
            let dimension = Int(word(offset))
            guard dimension > 0, dimension <= 1 << 16, offset + 4 + 4 * dimension <= data.count else {
                throw .malformed(path: path, offset: offset, reason: "dimension \(dimension) does not fit the file")
            }
            rows.append((0..<dimension).map { word(offset + 4 + 4 * $0) })
            offset += 4 + 4 * dimension
        }
        return rows
    }
}
