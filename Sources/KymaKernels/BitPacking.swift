// KymaKernels: the hot loops of decoding, each over unsafe buffers with a scalar reference
// implementation it is tested against. Compiled for x86-64-v3 (see Package.swift); binaries
// check the CPU at start.
//
// This file: bit-packing of unsigned integers, least-significant bit first (Parquet's order):
// value i occupies bits [i*w, (i+1)*w) of the little-endian bit stream.

public enum BitPacking {
    /// Bytes needed for `count` values of `width` bits.
    @inlinable
    public static func packedByteCount(count: Int, width: Int) -> Int {
        (count * width + 7) / 8
    }

    /// Packs the low `width` bits (0...64) of each value.
    public static func pack(_ values: UnsafeBufferPointer<UInt64>, width: Int, into output: inout [UInt8]) {
        precondition(width >= 0 && width <= 64, "bit width \(width) out of 0...64")
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: packedByteCount(count: values.count, width: width)))
        guard width > 0 else { return }
        let mask: UInt64 = width == 64 ? ~0 : (1 << UInt64(width)) &- 1
        var accumulator: UInt64 = 0
        var bits = 0
        var byteIndex = start
        output.withUnsafeMutableBufferPointer { out in
            for value in values {
                let v = value & mask
                accumulator |= v << UInt64(bits)
                let spill = bits + width
                if spill >= 64 {
                    // Flush 8 full bytes; keep the bits of v that did not fit.
                    for k in 0..<8 { out[byteIndex + k] = UInt8(truncatingIfNeeded: accumulator >> UInt64(8 * k)) }
                    byteIndex += 8
                    accumulator = bits == 0 ? 0 : v >> UInt64(64 - bits)
                    bits = spill - 64
                } else {
                    bits = spill
                }
            }
            var k = 0
            while bits > 0 {
                out[byteIndex + k] = UInt8(truncatingIfNeeded: accumulator >> UInt64(8 * k))
                k += 1
                bits -= 8
            }
        }
    }

    /// Unpacks `output.count` values of `width` bits (0...32) from `packed`.
    ///
    /// Each value is read with one unaligned 64-bit load at its first byte, shifted and masked:
    /// with width <= 32 a value spans at most 5 bytes, so the load always covers it. Values whose
    /// 8-byte window would run past the input take the bytewise path.
    @inlinable
    public static func unpack32(_ packed: UnsafeRawBufferPointer, width: Int, into output: UnsafeMutableBufferPointer<UInt32>) {
        precondition(width >= 0 && width <= 32, "bit width \(width) out of 0...32")
        precondition(packed.count >= packedByteCount(count: output.count, width: width), "packed input too short")
        guard width > 0 else {
            output.update(repeating: 0)
            return
        }
        let mask: UInt64 = (1 << UInt64(width)) &- 1
        let count = output.count
        // Values whose 8-byte load stays inside the input.
        let fastCount = packed.count >= 8 ? min(count, ((packed.count - 8) * 8) / width + 1) : 0
        guard let base = packed.baseAddress, let out = output.baseAddress else { return }
        var bitOffset = 0
        var i = 0
        if width <= 25 {
            // Groups of 8 values occupy exactly `width` bytes, so within a group lane j always
            // starts at byte (j*w)/8, bit (j*w)%8: eight 32-bit loads, one vector shift (AVX2
            // vpsrlvd), one mask, one 32-byte store. A value of <= 25 bits plus a shift of <= 7
            // fits the 32 bits loaded.
            var byteOffsets = SIMD8<Int32>()
            var shifts = SIMD8<UInt32>()
            for lane in 0..<8 {
                byteOffsets[lane] = Int32((lane * width) >> 3)
                shifts[lane] = UInt32((lane * width) & 7)
            }
            let laneMask = SIMD8<UInt32>(repeating: UInt32(mask))
            // Group g reads bytes up to g*w + (7w)/8 + 4; stay inside the input.
            let groups = packed.count >= 4 ? min(count / 8, max(0, (packed.count - 4 - (7 * width) / 8) / width + 1)) : 0
            var groupBase = 0
            for g in 0..<groups {
                let words = SIMD8<UInt32>(
                    UInt32(littleEndian: base.loadUnaligned(fromByteOffset: groupBase + Int(byteOffsets[0]), as: UInt32.self)),
                    UInt32(littleEndian: base.loadUnaligned(fromByteOffset: groupBase + Int(byteOffsets[1]), as: UInt32.self)),
                    UInt32(littleEndian: base.loadUnaligned(fromByteOffset: groupBase + Int(byteOffsets[2]), as: UInt32.self)),
                    UInt32(littleEndian: base.loadUnaligned(fromByteOffset: groupBase + Int(byteOffsets[3]), as: UInt32.self)),
                    UInt32(littleEndian: base.loadUnaligned(fromByteOffset: groupBase + Int(byteOffsets[4]), as: UInt32.self)),
                    UInt32(littleEndian: base.loadUnaligned(fromByteOffset: groupBase + Int(byteOffsets[5]), as: UInt32.self)),
                    UInt32(littleEndian: base.loadUnaligned(fromByteOffset: groupBase + Int(byteOffsets[6]), as: UInt32.self)),
                    UInt32(littleEndian: base.loadUnaligned(fromByteOffset: groupBase + Int(byteOffsets[7]), as: UInt32.self)))
                let values = (words &>> shifts) & laneMask
                UnsafeMutableRawPointer(out + g * 8).storeBytes(of: values, as: SIMD8<UInt32>.self)
                groupBase &+= width
            }
            i = groups * 8
            bitOffset = i * width
        }
        while i < fastCount {
            // bitOffset >> 3 <= packed.count - 8 for every i < fastCount (see fastCount).
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: bitOffset &>> 3, as: UInt64.self))
            out[i] = UInt32(truncatingIfNeeded: (word &>> UInt64(bitOffset & 7)) & mask)
            bitOffset &+= width
            i &+= 1
        }
        while i < count {
            out[i] = UInt32(truncatingIfNeeded: readBits(base, bitOffset: bitOffset, width: width, byteCount: packed.count))
            bitOffset += width
            i += 1
        }
    }

    /// Unpacks `output.count` values of `width` bits (0...64), for 64-bit frame-of-reference.
    @inlinable
    public static func unpack64(_ packed: UnsafeRawBufferPointer, width: Int, into output: UnsafeMutableBufferPointer<UInt64>) {
        precondition(width >= 0 && width <= 64, "bit width \(width) out of 0...64")
        precondition(packed.count >= packedByteCount(count: output.count, width: width), "packed input too short")
        guard width > 0 else {
            output.update(repeating: 0)
            return
        }
        guard let base = packed.baseAddress else { return }
        if width <= 56 {
            // A value of <= 56 bits starting at any bit of a byte fits one 64-bit load.
            let mask: UInt64 = (1 << UInt64(width)) &- 1
            let fastCount = packed.count >= 8 ? min(output.count, ((packed.count - 8) * 8) / width + 1) : 0
            var bitOffset = 0
            for i in 0..<fastCount {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: bitOffset &>> 3, as: UInt64.self))
                output[i] = (word &>> UInt64(bitOffset & 7)) & mask
                bitOffset &+= width
            }
            for i in fastCount..<output.count {
                output[i] = readBits(base, bitOffset: bitOffset, width: width, byteCount: packed.count)
                bitOffset += width
            }
        } else {
            for i in 0..<output.count {
                output[i] = readBits(base, bitOffset: i * width, width: width, byteCount: packed.count)
            }
        }
    }

    /// Reads `width` bits at `bitOffset` byte by byte, never past `byteCount`.
    @inlinable
    static func readBits(_ base: UnsafeRawPointer, bitOffset: Int, width: Int, byteCount: Int) -> UInt64 {
        var result: UInt64 = 0
        var produced = 0
        var offset = bitOffset
        while produced < width {
            let byte = UInt64(base.load(fromByteOffset: offset >> 3, as: UInt8.self))
            let shift = offset & 7
            let take = min(8 - shift, width - produced)
            result |= ((byte >> UInt64(shift)) & ((1 << UInt64(take)) - 1)) << UInt64(produced)
            produced += take
            offset += take
        }
        return result
    }

    /// The scalar reference: one bit at a time. Slow and obviously right.
    public static func unpackReference(_ packed: [UInt8], width: Int, count: Int) -> [UInt64] {
        (0..<count).map { i in
            var value: UInt64 = 0
            for bit in 0..<width {
                let position = i * width + bit
                if packed[position / 8] >> UInt8(position % 8) & 1 == 1 { value |= 1 << UInt64(bit) }
            }
            return value
        }
    }

    /// The smallest width that holds `maximum`.
    @inlinable
    public static func width(of maximum: UInt64) -> Int {
        maximum == 0 ? 0 : 64 - maximum.leadingZeroBitCount
    }
}
