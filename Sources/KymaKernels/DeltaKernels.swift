// Delta and delta-of-delta decoding (timestamps) and frame-of-reference addition.

public enum DeltaKernels {
    /// In place: values[i] = first + sum(deltas[0...i]), i.e. an inclusive prefix sum seeded with
    /// `first`. Wrapping arithmetic: encoders may store any Int64 differences.
    @inlinable
    public static func prefixSum(_ values: UnsafeMutableBufferPointer<Int64>, first: Int64) {
        var running = first
        for i in values.indices {
            running &+= values[i]
            values[i] = running
        }
    }

    /// Zigzag decoding (0, -1, 1, -2, ... from 0, 1, 2, 3, ...), in place over bit patterns.
    @inlinable
    public static func zigzagDecode(_ values: UnsafeMutableBufferPointer<UInt64>) {
        for i in values.indices {
            let v = values[i]
            values[i] = (v &>> 1) ^ (0 &- (v & 1))
        }
    }

    @inlinable
    public static func zigzagEncode(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value &<< 1) ^ (value &>> 63))
    }

    /// Frame of reference: out[i] = reference + offsets[i] (wrapping).
    @inlinable
    public static func addReference(_ offsets: UnsafeBufferPointer<UInt64>, reference: Int64, into output: UnsafeMutableBufferPointer<Int64>) {
        precondition(output.count >= offsets.count)
        for i in offsets.indices {
            output[i] = reference &+ Int64(bitPattern: offsets[i])
        }
    }
}
