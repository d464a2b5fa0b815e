// KymaCompression: the block codecs of the segment formats (zstd, lz4) behind one small enum, and
// beside it the other codecs Parquet pages use (snappy in Snappy.swift, gzip in Deflate.swift).
// The only module that imports CZstd, CLZ4 and CZlib. Decompression validates every size it is
// given, so a corrupt chunk is a typed error, never a crash or an over-read.

import CLZ4
import CZstd

/// A compression codec. Raw values are stored on disk: never renumber.
public enum Codec: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case none = 0
    case lz4 = 1
    case zstd = 2
    // next: 3

    public var description: String {
        switch self {
        case .none: "none"
        case .lz4: "lz4"
        case .zstd: "zstd"
        }
    }

    public init?(name: String) {
        guard let codec = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = codec
    }

    /// Compresses `input`. `level` is zstd's level (1...22, default 3) or, for lz4, selects the
    /// high-compression variant when above 1.
    public func compress(_ input: UnsafeRawBufferPointer, level: Int = 3) throws(CompressionError) -> [UInt8] {
        switch self {
        case .none:
            return Array(input)
        case .zstd:
            let bound = ZSTD_compressBound(input.count)
            var output = [UInt8](repeating: 0, count: bound)
            let written = output.withUnsafeMutableBytes { out in
                ZSTD_compress(out.baseAddress, bound, input.baseAddress, input.count, Int32(max(1, min(level, 22))))
            }
            guard ZSTD_isError(written) == 0 else {
                throw .failed(codec: self, reason: String(cString: ZSTD_getErrorName(written)))
            }
            output.removeLast(bound - written)
            return output
        case .lz4:
            guard input.count <= Int(LZ4_MAX_INPUT_SIZE) else { throw .failed(codec: self, reason: "input of \(input.count) bytes is too large") }
            let bound = Int(LZ4_compressBound(Int32(input.count)))
            var output = [UInt8](repeating: 0, count: bound)
            let written = output.withUnsafeMutableBytes { out -> Int32 in
                let source = input.baseAddress?.assumingMemoryBound(to: CChar.self)
                let destination = out.baseAddress?.assumingMemoryBound(to: CChar.self)
                return level > 1
                    ? LZ4_compress_HC(source, destination, Int32(input.count), Int32(bound), Int32(min(level, 12)))
                    : LZ4_compress_default(source, destination, Int32(input.count), Int32(bound))
            }
            guard written > 0 || input.isEmpty else { throw .failed(codec: self, reason: "lz4 compression failed") }
            output.removeLast(bound - Int(written))
            return output
        }
    }

    public func compress(_ input: [UInt8], level: Int = 3) throws(CompressionError) -> [UInt8] {
        let result = input.withUnsafeBytes { raw in Result { () throws(CompressionError) in try compress(raw, level: level) } }
        return try result.get()
    }

    /// Decompresses `input`, which must expand to exactly `uncompressedSize` bytes.
    public func decompress(_ input: UnsafeRawBufferPointer, uncompressedSize: Int) throws(CompressionError) -> [UInt8] {
        guard uncompressedSize >= 0, uncompressedSize <= 1 << 31 else {
            throw .corrupt(codec: self, reason: "implausible uncompressed size \(uncompressedSize)")
        }
        switch self {
        case .none:
            guard input.count == uncompressedSize else {
                throw .corrupt(codec: self, reason: "stored \(input.count) bytes, expected \(uncompressedSize)")
            }
            return Array(input)
        case .zstd:
            var output = [UInt8](repeating: 0, count: uncompressedSize)
            let written = output.withUnsafeMutableBytes { out in
                ZSTD_decompress(out.baseAddress, uncompressedSize, input.baseAddress, input.count)
            }
            guard ZSTD_isError(written) == 0 else { throw .corrupt(codec: self, reason: String(cString: ZSTD_getErrorName(written))) }
            guard written == uncompressedSize else {
                throw .corrupt(codec: self, reason: "expanded to \(written) bytes, expected \(uncompressedSize)")
            }
            return output
        case .lz4:
            var output = [UInt8](repeating: 0, count: uncompressedSize)
            guard input.count <= Int(Int32.max) else { throw .corrupt(codec: self, reason: "input too large") }
            let written = output.withUnsafeMutableBytes { out -> Int32 in
                LZ4_decompress_safe(input.baseAddress?.assumingMemoryBound(to: CChar.self),
                                    out.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(input.count), Int32(uncompressedSize))
            }
            guard Int(written) == uncompressedSize else {
                throw .corrupt(codec: self, reason: written < 0 ? "malformed lz4 block" : "expanded to \(written) bytes, expected \(uncompressedSize)")
            }
            return output
        }
    }

    public func decompress(_ input: [UInt8], uncompressedSize: Int) throws(CompressionError) -> [UInt8] {
        let result = input.withUnsafeBytes { raw in
            Result { () throws(CompressionError) in try decompress(raw, uncompressedSize: uncompressedSize) }
        }
        return try result.get()
    }
}

public enum CompressionError: Error, Sendable, Hashable, CustomStringConvertible {
    case failed(codec: Codec, reason: String)
    /// The compressed bytes are damaged or do not match their recorded size.
    case corrupt(codec: Codec, reason: String)
    /// Raw deflate or gzip (zlib) failed or its input is damaged.
    case deflate(String)
    /// A snappy block is damaged.
    case snappy(String)
    /// The data would expand past the caller's limit (a decompression bomb, or a body too big).
    case tooLarge(limit: Int)

    public var description: String {
        switch self {
        case .failed(let codec, let reason): "\(codec) compression failed: \(reason)"
        case .corrupt(let codec, let reason): "corrupt \(codec) data: \(reason)"
        case .deflate(let reason): "deflate: \(reason)"
        case .snappy(let reason): "corrupt snappy block: \(reason)"
        case .tooLarge(let limit): "decompressed data exceeds the limit of \(limit) bytes"
        }
    }
}

/// zstd frames of unknown size (HTTP bodies with `Content-Encoding: zstd`), decompressed as a
/// stream with the output bounded.
public enum ZstdStream {
    /// Decompresses every frame of `input`; throws `.tooLarge` past `limit` output bytes and
    /// `.corrupt` for damaged or truncated input.
    public static func decompress(_ input: [UInt8], limit: Int) throws(CompressionError) -> [UInt8] {
        guard let stream = ZSTD_createDStream() else { throw .failed(codec: .zstd, reason: "cannot create a decompression stream") }
        defer { ZSTD_freeDStream(stream) }
        ZSTD_initDStream(stream)
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        var lastResult = 0
        let failure: CompressionError? = input.withUnsafeBytes { raw -> CompressionError? in
            var inBuffer = ZSTD_inBuffer(src: raw.baseAddress, size: raw.count, pos: 0)
            while inBuffer.pos < inBuffer.size || lastResult != 0 {
                let before = inBuffer.pos
                let (result, produced) = chunk.withUnsafeMutableBytes { out -> (Int, Int) in
                    var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                    let r = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                    return (r, outBuffer.pos)
                }
                if ZSTD_isError(result) != 0 { return .corrupt(codec: .zstd, reason: String(cString: ZSTD_getErrorName(result))) }
                if output.count + produced > limit { return .tooLarge(limit: limit) }
                output.append(contentsOf: chunk[0..<produced])
                lastResult = result
                if produced == 0 && inBuffer.pos == before { break }  // no progress: the input ended mid-frame
            }
            return lastResult == 0 ? nil : .corrupt(codec: .zstd, reason: "truncated zstd frame")
        }
        if let failure { throw failure }
        return output
    }
}
