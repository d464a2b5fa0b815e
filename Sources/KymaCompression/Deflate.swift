// Deflate over zlib: raw (RFC 1951, no header), the Avro "deflate" codec that pyiceberg and the
// Java Iceberg library use for manifests; and gzip (RFC 1952), Parquet's GZIP codec.

import CZlib

public enum Deflate {
    /// Decompresses a raw deflate stream. `limit` bounds the output (damaged input never
    /// allocates without bound).
    public static func inflateRaw(_ input: [UInt8], limit: Int = 1 << 30) throws(CompressionError) -> [UInt8] {
        try inflate(input, windowBits: -15, limit: limit)
    }

    /// Decompresses one gzip member (RFC 1952); the trailer's CRC-32 and size are checked.
    public static func gunzip(_ input: [UInt8], limit: Int = 1 << 30) throws(CompressionError) -> [UInt8] {
        try inflate(input, windowBits: 15 + 16, limit: limit)
    }

    /// Compresses to a raw deflate stream.
    public static func deflateRaw(_ input: [UInt8], level: Int32 = 6) throws(CompressionError) -> [UInt8] {
        try deflate(input, windowBits: -15, level: level)
    }

    /// Compresses to one gzip member.
    public static func gzip(_ input: [UInt8], level: Int32 = 6) throws(CompressionError) -> [UInt8] {
        try deflate(input, windowBits: 15 + 16, level: level)
    }

    private static func inflate(_ input: [UInt8], windowBits: Int32, limit: Int) throws(CompressionError) -> [UInt8] {
        // zlib keeps a pointer back to its z_stream: the stream must not move, so it lives on
        // the heap for the whole call.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        guard inflateInit2_(stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw .deflate("inflateInit2 failed") }
        defer { inflateEnd(stream) }
        var output = [UInt8](repeating: 0, count: max(64, min(limit, input.count * 4)))
        var produced = 0
        var status: Int32 = Z_OK
        var source = input
        source.withUnsafeMutableBufferPointer { input in
            stream.pointee.next_in = input.baseAddress
            stream.pointee.avail_in = uInt(input.count)
            while true {
                if produced == output.count {
                    guard output.count < limit else { status = Z_MEM_ERROR; return }  // over the limit, not damaged
                    output += [UInt8](repeating: 0, count: min(output.count, limit - output.count))
                }
                status = output.withUnsafeMutableBufferPointer { target -> Int32 in
                    stream.pointee.next_out = target.baseAddress! + produced
                    stream.pointee.avail_out = uInt(target.count - produced)
                    let r = CZlib.inflate(stream, Z_NO_FLUSH)
                    produced = target.count - Int(stream.pointee.avail_out)
                    return r
                }
                if status != Z_OK { return }
                if stream.pointee.avail_in == 0 && produced < output.count { status = Z_DATA_ERROR; return }  // input ended mid-stream
            }
        }
        if status == Z_MEM_ERROR && produced >= limit { throw .tooLarge(limit: limit) }
        guard status == Z_STREAM_END else { throw .deflate("\(windowBits < 0 ? "raw deflate" : "gzip") stream is damaged or truncated (zlib status \(status))") }
        return Array(output.prefix(produced))
    }

    private static func deflate(_ input: [UInt8], windowBits: Int32, level: Int32) throws(CompressionError) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        guard deflateInit2_(stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .deflate("deflateInit2 failed")
        }
        defer { deflateEnd(stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, uLong(input.count))))
        var source = input
        let status = source.withUnsafeMutableBufferPointer { input -> Int32 in
            output.withUnsafeMutableBufferPointer { target -> Int32 in
                stream.pointee.next_in = input.baseAddress
                stream.pointee.avail_in = uInt(input.count)
                stream.pointee.next_out = target.baseAddress
                stream.pointee.avail_out = uInt(target.count)
                return CZlib.deflate(stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw .deflate("deflate failed (zlib status \(status))") }
        return Array(output.prefix(Int(stream.pointee.total_out)))
    }
}

/// CRC-32 (the gzip / zlib polynomial), as Parquet's page header `crc` field uses.
public enum CRC32 {
    /// `seed`: the checksum of the bytes before these, to checksum pieces without joining them.
    public static func checksum(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(crc32(uLong(seed), $0.baseAddress, uInt($0.count))) }
    }
}
