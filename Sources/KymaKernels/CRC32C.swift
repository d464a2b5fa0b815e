// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every TLM chunk and
// footer and every k2i transaction-log frame. On x86_64 the SSE4.2 crc32 instruction
// (CKymaKernels, three chains at once on inputs from 768 bytes); elsewhere slicing-by-8 tables,
// eight table lookups per 8 input bytes. Both are tested against the bitwise reference.

import CKymaKernels

public enum CRC32C {
    @usableFromInline
    static let tables: [[UInt32]] = {
        var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var crc = UInt32(i)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            tables[0][i] = crc
        }
        for i in 0..<256 {
            for t in 1..<8 { tables[t][i] = (tables[t - 1][i] >> 8) ^ tables[0][Int(tables[t - 1][i] & 0xFF)] }
        }
        return tables
    }()

    /// The checksum of `bytes`, continuing from `initial` (the checksum of earlier bytes).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        if kyma_crc32c_hw_available() == 1 {
            return kyma_crc32c_hw(initial, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        }
        return tableChecksum(bytes, initial: initial)
    }

    /// One chain of the hardware instruction (the three-chain version's tail and its baseline);
    /// the table version where the instruction is missing.
    public static func oneChainChecksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        if kyma_crc32c_hw_available() == 1 {
            return kyma_crc32c_hw_one_chain(initial, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        }
        return tableChecksum(bytes, initial: initial)
    }

    /// The portable slicing-by-8 version.
    public static func tableChecksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        var crc = ~initial
        let t = tables
        var index = 0
        let count = bytes.count
        t[0].withUnsafeBufferPointer { t0 in t[1].withUnsafeBufferPointer { t1 in t[2].withUnsafeBufferPointer { t2 in
        t[3].withUnsafeBufferPointer { t3 in t[4].withUnsafeBufferPointer { t4 in t[5].withUnsafeBufferPointer { t5 in
        t[6].withUnsafeBufferPointer { t6 in t[7].withUnsafeBufferPointer { t7 in
            while index + 8 <= count {
                let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)) ^ UInt64(crc)
                crc = t7[Int(word & 0xFF)] ^ t6[Int(word >> 8 & 0xFF)] ^ t5[Int(word >> 16 & 0xFF)] ^ t4[Int(word >> 24 & 0xFF)]
                    ^ t3[Int(word >> 32 & 0xFF)] ^ t2[Int(word >> 40 & 0xFF)] ^ t1[Int(word >> 48 & 0xFF)] ^ t0[Int(word >> 56)]
                index += 8
            }
            while index < count {
                crc = (crc >> 8) ^ t0[Int((crc ^ UInt32(bytes[index])) & 0xFF)]
                index += 1
            }
        }}}}}}}}
        return ~crc
    }

    public static func checksum(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, initial: initial) }
    }

    /// Bit at a time: the reference the table version is tested against.
    public static func reference(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = ~0
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }
}
