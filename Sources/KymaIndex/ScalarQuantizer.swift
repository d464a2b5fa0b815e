// Int8 scalar quantization for HNSW search: each vector is also kept as one byte per component,
// `code = round((x - min_d) / scale)` with a per-dimension offset `min_d` and one scale for all
// dimensions (so codes of every dimension weigh alike and squared differences rank as the true
// ones do, up to rounding). Searches walk the graph on codes (a quarter of the bytes: more of the
// index stays in cache) against the query mapped into code space (asymmetric: the query is not
// rounded), then re-rank the candidates by exact float distance.
//
// Training takes the per-dimension ranges of the vectors present (the first 1,024, or all when
// a search comes first); later vectors outside the ranges are clamped, which re-ranking absorbs.

import KymaKernels

public enum VectorQuantization: String, Sendable, Hashable, CaseIterable {
    /// Float32 only.
    case none
    /// Int8 codes searched, float32 re-ranking.
    case int8
}

struct ScalarQuantizer: Sendable {
    let offsets: [Float]
    let scale: Float

    /// The ranges of `count` vectors of `dimension` at `vectors`.
    init(vectors: UnsafeBufferPointer<Float>, count: Int, dimension: Int) {
        var low = [Float](repeating: .infinity, count: dimension)
        var high = [Float](repeating: -.infinity, count: dimension)
        for v in 0..<count {
            for d in 0..<dimension {
                let x = vectors[v * dimension + d]
                if x < low[d] { low[d] = x }
                if x > high[d] { high[d] = x }
            }
        }
        var widest: Float = 0
        for d in 0..<dimension {
            if low[d] > high[d] { low[d] = 0; high[d] = 0 }
            widest = max(widest, high[d] - low[d])
        }
        offsets = low
        scale = widest > 0 ? widest / 255 : 1
    }

    /// The codes of one vector.
    func encode(_ vector: UnsafePointer<Float>, dimension: Int, into codes: inout [UInt8]) {
        for d in 0..<dimension {
            let level = ((vector[d] - offsets[d]) / scale).rounded()
            codes.append(UInt8(max(0, min(255, level))))
        }
    }

    /// The query in code space, not rounded.
    func map(_ query: UnsafePointer<Float>, dimension: Int) -> [Float] {
        (0..<dimension).map { (query[$0] - offsets[$0]) / scale }
    }

    /// The query's dot product with a code's vector is `bias + scale * codeDot(query, code)`.
    func dotBias(_ query: UnsafePointer<Float>, dimension: Int) -> Float {
        var bias: Float = 0
        for d in 0..<dimension { bias += query[d] * offsets[d] }
        return bias
    }
}

/// Distances between a float query and int8 codes, each with a scalar reference it is tested
/// against (KymaIndexTests).
enum CodeKernels {
    /// Σ (q_d - c_d)², q in code space.
    @inline(__always)
    static func l2(_ query: UnsafePointer<Float>, _ code: UnsafePointer<UInt8>, dimension: Int) -> Float {
        var sum0 = SIMD8<Float>(), sum1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= dimension {
            let bytes = UnsafeRawPointer(code + i).loadUnaligned(as: SIMD16<UInt8>.self)
            let c0 = SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: bytes.lowHalf))
            let c1 = SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: bytes.highHalf))
            let d0 = UnsafeRawPointer(query + i).loadUnaligned(as: SIMD8<Float>.self) - c0
            let d1 = UnsafeRawPointer(query + i + 8).loadUnaligned(as: SIMD8<Float>.self) - c1
            sum0.addProduct(d0, d0)
            sum1.addProduct(d1, d1)
            i += 16
        }
        var total = (sum0 + sum1).sum()
        while i < dimension {
            let d = query[i] - Float(code[i])
            total += d * d
            i += 1
        }
        return total
    }

    /// Σ q_d · c_d.
    @inline(__always)
    static func dot(_ query: UnsafePointer<Float>, _ code: UnsafePointer<UInt8>, dimension: Int) -> Float {
        var sum0 = SIMD8<Float>(), sum1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= dimension {
            let bytes = UnsafeRawPointer(code + i).loadUnaligned(as: SIMD16<UInt8>.self)
            sum0.addProduct(UnsafeRawPointer(query + i).loadUnaligned(as: SIMD8<Float>.self), SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: bytes.lowHalf)))
            sum1.addProduct(UnsafeRawPointer(query + i + 8).loadUnaligned(as: SIMD8<Float>.self), SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: bytes.highHalf)))
            i += 16
        }
        var total = (sum0 + sum1).sum()
        while i < dimension {
            total += query[i] * Float(code[i])
            i += 1
        }
        return total
    }

    static func l2Reference(_ query: [Float], _ code: [UInt8]) -> Double {
        zip(query, code).reduce(0) { $0 + (Double($1.0) - Double($1.1)) * (Double($1.0) - Double($1.1)) }
    }

    static func dotReference(_ query: [Float], _ code: [UInt8]) -> Double {
        zip(query, code).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }
}
