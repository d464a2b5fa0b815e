// Snappy's raw block format (google/snappy format_description.txt), written here because Debian's
// Swift toolchain has no snappy package and Parquet's most common codec is SNAPPY (pyarrow's and
// the original k2i's default). The compressor is a greedy LZ77 over a hash of 4-byte sequences;
// the decompressor checks every length and offset against the declared size, so damaged input is
// a typed error, never an over-read or an unbounded allocation.

public enum Snappy {
    /// The most a block may declare (Parquet pages are far smaller; a larger preamble is damage).
    public static let maxUncompressedSize = 1 << 31

    /// Compresses `input` into one snappy block.
    public static func compress(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        var output: [UInt8] = []
        // Worst case (format_description: 32 + n + n/6).
        output.reserveCapacity(32 + input.count + input.count / 6)
        var length = UInt64(input.count)
        while length >= 0x80 {
            output.append(UInt8(truncatingIfNeeded: length) | 0x80)
            length >>= 7
        }
        output.append(UInt8(length))
        guard let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count > 0 else { return output }
        let bytes = UnsafeBufferPointer(start: base, count: input.count)
        let n = bytes.count
        // Positions are hashed per 64 KiB fragment, as snappy itself does, so an offset always
        // fits the two-byte copy form.
        let tableBits = 14
        var table = [Int32](repeating: -1, count: 1 << tableBits)
        var fragmentStart = 0
        while fragmentStart < n {
            let fragmentEnd = min(n, fragmentStart + 65_536)
            for i in table.indices { table[i] = -1 }
            var literalStart = fragmentStart
            var i = fragmentStart
            while i + 4 <= fragmentEnd {
                let word = load32(bytes, i)
                let slot = Int((word &* 0x1E35_A7BD) >> UInt32(32 - tableBits))
                let candidate = Int(table[slot])
                table[slot] = Int32(i)
                guard candidate >= 0, load32(bytes, candidate) == word else {
                    i += 1
                    continue
                }
                var matchEnd = i + 4
                while matchEnd < fragmentEnd && bytes[matchEnd] == bytes[candidate + matchEnd - i] { matchEnd += 1 }
                emitLiteral(bytes, literalStart..<i, into: &output)
                emitCopy(offset: i - candidate, length: matchEnd - i, into: &output)
                i = matchEnd
                literalStart = i
            }
            emitLiteral(bytes, literalStart..<fragmentEnd, into: &output)
            fragmentStart = fragmentEnd
        }
        return output
    }

    public static func compress(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBytes { compress($0) }
    }

    /// The uncompressed size a block declares in its preamble.
    public static func uncompressedLength(_ input: UnsafeRawBufferPointer) throws(CompressionError) -> (length: Int, preamble: Int) {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        for (index, byte) in input.enumerated() {
            guard shift <= 28 else { break }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                guard value <= UInt64(maxUncompressedSize) else { throw .snappy("block declares \(value) bytes") }
                return (Int(value), index + 1)
            }
            shift += 7
        }
        throw .snappy("length preamble is truncated or too long")
    }

    /// Decompresses one snappy block; `expectedSize`, when given, must match its preamble.
    public static func decompress(_ input: UnsafeRawBufferPointer, expectedSize: Int? = nil) throws(CompressionError) -> [UInt8] {
        let (size, preamble) = try uncompressedLength(input)
        if let expectedSize, expectedSize != size {
            throw .snappy("block declares \(size) bytes, expected \(expectedSize)")
        }
        guard let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return [] }
        let source = UnsafeBufferPointer(start: base, count: input.count)
        var output = [UInt8](repeating: 0, count: size)
        var produced = 0
        var at = preamble
        try output.withUnsafeMutableBufferPointer { (target: inout UnsafeMutableBufferPointer<UInt8>) throws(CompressionError) in
            while at < source.count {
                let tag = source[at]
                at += 1
                switch tag & 3 {
                case 0:
                    var length = Int(tag >> 2)
                    if length >= 60 {
                        let extra = length - 59
                        guard at + extra <= source.count else { throw .snappy("literal length is truncated") }
                        length = 0
                        for k in 0..<extra { length |= Int(source[at + k]) << (8 * k) }
                        at += extra
                    }
                    length += 1
                    guard at + length <= source.count else { throw .snappy("literal runs past the input") }
                    guard produced + length <= size else { throw .snappy("literal runs past the declared size") }
                    for k in 0..<length { target[produced + k] = source[at + k] }
                    at += length
                    produced += length
                default:
                    let length: Int, offset: Int
                    switch tag & 3 {
                    case 1:
                        guard at < source.count else { throw .snappy("copy is truncated") }
                        length = 4 + Int((tag >> 2) & 7)
                        offset = Int(tag >> 5) << 8 | Int(source[at])
                        at += 1
                    case 2:
                        guard at + 2 <= source.count else { throw .snappy("copy is truncated") }
                        length = 1 + Int(tag >> 2)
                        offset = Int(source[at]) | Int(source[at + 1]) << 8
                        at += 2
                    default:
                        guard at + 4 <= source.count else { throw .snappy("copy is truncated") }
                        length = 1 + Int(tag >> 2)
                        offset = Int(source[at]) | Int(source[at + 1]) << 8 | Int(source[at + 2]) << 16 | Int(source[at + 3]) << 24
                        at += 4
                    }
                    guard offset > 0, offset <= produced else { throw .snappy("copy offset \(offset) at output byte \(produced)") }
                    guard produced + length <= size else { throw .snappy("copy runs past the declared size") }
                    // Byte by byte: a copy may overlap the bytes it produces (a run).
                    for k in 0..<length { target[produced + k] = target[produced - offset + k] }
                    produced += length
                }
            }
        }
        guard produced == size else { throw .snappy("block expanded to \(produced) bytes, declared \(size)") }
        return output
    }

    public static func decompress(_ input: [UInt8], expectedSize: Int? = nil) throws(CompressionError) -> [UInt8] {
        let result = input.withUnsafeBytes { raw in Result { () throws(CompressionError) in try decompress(raw, expectedSize: expectedSize) } }
        return try result.get()
    }

    @inline(__always)
    private static func load32(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt32 {
        UnsafeRawPointer(bytes.baseAddress! + i).loadUnaligned(as: UInt32.self)
    }

    private static func emitLiteral(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into output: inout [UInt8]) {
        guard !range.isEmpty else { return }
        let n = range.count - 1
        if n < 60 {
            output.append(UInt8(n << 2))
        } else {
            var extra = 1
            while extra < 4 && n >> (8 * extra) != 0 { extra += 1 }
            output.append(UInt8((59 + extra) << 2))
            for k in 0..<extra { output.append(UInt8(truncatingIfNeeded: n >> (8 * k))) }
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[range]))
    }

    /// Copies of at most 64 bytes each; the last piece is kept at 4 or more bytes so the short
    /// (one-byte offset) form stays usable for it.
    private static func emitCopy(offset: Int, length: Int, into output: inout [UInt8]) {
        var remaining = length
        while remaining > 0 {
            var piece = min(remaining, 64)
            if remaining - piece > 0 && remaining - piece < 4 { piece = remaining - 4 }
            if piece >= 4 && piece <= 11 && offset < 2048 {
                output.append(UInt8(1 | (piece - 4) << 2 | (offset >> 8) << 5))
                output.append(UInt8(truncatingIfNeeded: offset))
            } else {
                output.append(UInt8(2 | (piece - 1) << 2))
                output.append(UInt8(truncatingIfNeeded: offset))
                output.append(UInt8(truncatingIfNeeded: offset >> 8))
            }
            remaining -= piece
        }
    }
}
