// Finding the end of a JSON string's plain run: the first quote, backslash or control byte,
// 32 bytes per step (CKymaKernels, AVX2). The record decoder spends most of its time inside
// long string values; this is that loop.

import CKymaKernels

public enum JSONStringScan {
    /// The first position at or after `from` holding a quote, a backslash or a byte below 0x20
    /// (`bytes.count` when none does), and whether a byte >= 0x80 comes before it.
    @inlinable
    public static func stop(in bytes: UnsafeBufferPointer<UInt8>, from: Int) -> (index: Int, nonASCII: Bool) {
        guard let base = bytes.baseAddress, from < bytes.count else { return (bytes.count, false) }
        var nonASCII: Int32 = 0
        let index = kyma_json_string_stop(base, from, bytes.count, &nonASCII)
        return (index, nonASCII != 0)
    }
}
