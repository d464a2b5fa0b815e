// Vector distances on float32 with SIMD accumulation (8 lanes; AVX2 under x86-64-v3), each with
// a scalar reference it is tested against.

import CKymaKernels

public enum DistanceKernels {
    /// A hint that `address` will be read soon (the next neighbour's vector in a graph walk).
    @inlinable @inline(__always)
    public static func prefetch(_ address: UnsafeRawPointer) {
        kyma_prefetch(address)
    }

    /// Squared Euclidean distance of two `dimension`-long vectors. Two accumulators of 8 lanes:
    /// one FMA chain would wait on its own latency every step.
    @inlinable @inline(__always)
    public static func l2Squared(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, dimension: Int) -> Float {
        var sum0 = SIMD8<Float>(), sum1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= dimension {
            let d0 = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self) - UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            let d1 = UnsafeRawPointer(a + i + 8).loadUnaligned(as: SIMD8<Float>.self) - UnsafeRawPointer(b + i + 8).loadUnaligned(as: SIMD8<Float>.self)
            sum0.addProduct(d0, d0)
            sum1.addProduct(d1, d1)
            i += 16
        }
        if i + 8 <= dimension {
            let d = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self) - UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            sum0.addProduct(d, d)
            i += 8
        }
        var total = (sum0 + sum1).sum()
        while i < dimension {
            let d = a[i] - b[i]
            total += d * d
            i += 1
        }
        return total
    }

    /// Dot product of two `dimension`-long vectors (two accumulators, as `l2Squared`).
    @inlinable @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, dimension: Int) -> Float {
        var sum0 = SIMD8<Float>(), sum1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= dimension {
            sum0.addProduct(UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self), UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self))
            sum1.addProduct(UnsafeRawPointer(a + i + 8).loadUnaligned(as: SIMD8<Float>.self), UnsafeRawPointer(b + i + 8).loadUnaligned(as: SIMD8<Float>.self))
            i += 16
        }
        if i + 8 <= dimension {
            sum0.addProduct(UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self), UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self))
            i += 8
        }
        var total = (sum0 + sum1).sum()
        while i < dimension {
            total += a[i] * b[i]
            i += 1
        }
        return total
    }

    public static func l2SquaredReference(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
    }

    public static func dotReference(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }
}
