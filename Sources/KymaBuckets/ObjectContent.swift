// An object's content as a pipeline reads it: decompressed by the rule's option, else its
// Content-Encoding, else its key's extension, else its magic bytes.

import KymaCatalog
import KymaCompression

enum ObjectContent {
    /// Largest content after decompression.
    static let maxBytes = 1 << 31

    enum Compression { case none, gzip, zstd }

    static func compression(of object: BucketObject, option: String?, bytes: [UInt8]) -> Compression {
        switch option {
        case "gzip": return .gzip
        case "zstd": return .zstd
        case "none": return .none
        default: break
        }
        let encoding = object.metadata["content-encoding"]?.lowercased() ?? ""
        if encoding.contains("gzip") || object.key.hasSuffix(".gz") { return .gzip }
        if encoding.contains("zstd") || object.key.hasSuffix(".zst") { return .zstd }
        if bytes.starts(with: [0x1F, 0x8B]) { return .gzip }
        if bytes.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) { return .zstd }
        return .none
    }

    static func decompressed(_ object: BucketObject, option: String?, bytes stored: [UInt8]) throws(BucketsError) -> [UInt8] {
        do {
            switch compression(of: object, option: option, bytes: stored) {
            case .none: return stored
            case .gzip: return try Deflate.gunzip(stored, limit: maxBytes)
            case .zstd: return try ZstdStream.decompress(stored, limit: maxBytes)
            }
        } catch {
            throw BucketsError(.badObject, "'\(object.key)' does not decompress: \(error)")
        }
    }
}
