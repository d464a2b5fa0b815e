// Vector distances on float32 with SIMD accumulation (8 lanes; AVX2 under x86-64-v3), each with
// a scalar reference it is tested against.

public enum DistanceKernels {
    /// Squared Euclidean distance of two `dimension`-long vectors.
    @inlinable
    public static func l2Squared(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, dimension: Int) -> Float {
        var sum = SIMD8<Float>()
        var i = 0
        while i + 8 <= dimension {
            let x = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            let y = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            let d = x - y
            sum.addProduct(d, d)
            i += 8
        }
        var total = sum.sum()
        while i < dimension {
            let d = a[i] - b[i]
            total += d * d
            i += 1
        }
        return total
    }

    /// Dot product of two `dimension`-long vectors.
    @inlinable
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, dimension: Int) -> Float {
        var sum = SIMD8<Float>()
        var i = 0
        while i + 8 <= dimension {
            sum.addProduct(UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self), UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self))
            i += 8
        }
        var total = sum.sum()
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
