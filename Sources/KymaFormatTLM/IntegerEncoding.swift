// Encodings of 64-bit values (int64, timestamps, float64 bit patterns, bools as 0/1).
// Each encoder appends its body to a BinaryWriter; each decoder validates every length and
// count against the chunk it reads.

import KymaFormat
import KymaCore
import KymaKernels

enum IntegerEncoding {
    /// The encodings that apply to 64-bit values, and the bytes each produces.
    static func encode(_ values: [Int64], as tag: EncodingTag) -> [UInt8]? {
        var w = BinaryWriter()
        switch tag {
        case .plain:
            for v in values { w.i64(v) }
        case .bitPacked, .frameOfReference:
            let minimum = values.min() ?? 0
            if tag == .bitPacked && minimum < 0 { return nil }  // bit-packing proper: non-negative values only
            let reference = tag == .bitPacked ? 0 : minimum
            let offsets = values.map { UInt64(bitPattern: $0 &- reference) }
            w.i64(reference)
            pack(offsets, into: &w)
        case .delta:
            guard let first = values.first else { return nil }
            let deltas = zip(values.dropFirst(), values).map { $0 &- $1 }
            let minimum = deltas.min() ?? 0
            w.i64(first)
            w.i64(minimum)
            pack(deltas.map { UInt64(bitPattern: $0 &- minimum) }, into: &w)
        case .deltaOfDelta:
            guard values.count >= 2 else { return nil }
            let deltas = zip(values.dropFirst(), values).map { $0 &- $1 }
            let dods = zip(deltas.dropFirst(), deltas).map { $0 &- $1 }
            let minimum = dods.min() ?? 0
            w.i64(values[0])
            w.i64(deltas[0])
            w.i64(minimum)
            pack(dods.map { UInt64(bitPattern: $0 &- minimum) }, into: &w)
        case .dictionary:
            var codes: [UInt64] = []
            codes.reserveCapacity(values.count)
            var index: [Int64: UInt64] = [:]
            var dictionary: [Int64] = []
            for v in values {
                if let code = index[v] {
                    codes.append(code)
                } else {
                    let code = UInt64(dictionary.count)
                    index[v] = code
                    dictionary.append(v)
                    codes.append(code)
                    if dictionary.count > max(256, values.count / 2) { return nil }  // not worth it
                }
            }
            w.u32(UInt32(dictionary.count))
            for v in dictionary { w.i64(v) }
            pack(codes, into: &w)
        case .runLength:
            var runs: [(Int64, UInt32)] = []
            for v in values {
                if let last = runs.last, last.0 == v { runs[runs.count - 1].1 += 1 } else { runs.append((v, 1)) }
                if runs.count > values.count / 2 + 1 { return nil }
            }
            w.u32(UInt32(runs.count))
            for (v, n) in runs { w.i64(v); w.u32(n) }
        }
        return w.bytes
    }

    /// u8 width, then the values bit-packed at that width.
    static func pack(_ values: [UInt64], into w: inout BinaryWriter) {
        let width = BitPacking.width(of: values.max() ?? 0)
        w.u8(UInt8(width))
        var packed: [UInt8] = []
        values.withUnsafeBufferPointer { BitPacking.pack($0, width: width, into: &packed) }
        w.raw(packed)
    }

    static func unpack(_ r: inout BinaryReader, count: Int) throws(FormatError) -> [UInt64] {
        let width = Int(try r.u8("bit width"))
        guard width <= 64 else { throw r.corrupt("bit width \(width) > 64") }
        let packed = try r.raw(BitPacking.packedByteCount(count: count, width: width), "packed values")
        var out = [UInt64](repeating: 0, count: count)
        packed.withUnsafeBytes { raw in out.withUnsafeMutableBufferPointer { BitPacking.unpack64(raw, width: width, into: $0) } }
        return out
    }

    /// Picks the smallest encoding (or the forced one when it applies).
    static func best(_ values: [Int64], forced: EncodingTag?) -> (EncodingTag, [UInt8]) {
        if let forced, let bytes = encode(values, as: forced) { return (forced, bytes) }
        var best: (EncodingTag, [UInt8]) = (.plain, encode(values, as: .plain) ?? [])
        for tag in [EncodingTag.frameOfReference, .delta, .deltaOfDelta, .dictionary, .runLength, .bitPacked] {
            if let bytes = encode(values, as: tag), bytes.count < best.1.count { best = (tag, bytes) }
        }
        return best
    }

    static func decode(_ r: inout BinaryReader, tag: EncodingTag, count: Int) throws(FormatError) -> [Int64] {
        switch tag {
        case .plain:
            return try r.array(of: Int64.self, count, "plain values")
        case .bitPacked, .frameOfReference:
            let reference = try r.i64("reference")
            let offsets = try unpack(&r, count: count)
            var out = [Int64](repeating: 0, count: count)
            offsets.withUnsafeBufferPointer { o in out.withUnsafeMutableBufferPointer { DeltaKernels.addReference(o, reference: reference, into: $0) } }
            return out
        case .delta:
            guard count > 0 else { throw r.corrupt("delta chunk with no rows") }
            let first = try r.i64("first value")
            let minimum = try r.i64("minimum delta")
            let packed = try unpack(&r, count: count - 1)
            var out = [Int64](repeating: 0, count: count)
            out[0] = 0
            for i in 1..<count { out[i] = Int64(bitPattern: packed[i - 1]) &+ minimum }
            out.withUnsafeMutableBufferPointer { DeltaKernels.prefixSum($0, first: first) }
            return out
        case .deltaOfDelta:
            guard count >= 2 else { throw r.corrupt("delta-of-delta chunk with fewer than 2 rows") }
            let first = try r.i64("first value")
            let firstDelta = try r.i64("first delta")
            let minimum = try r.i64("minimum delta of delta")
            let packed = try unpack(&r, count: count - 2)
            var out = [Int64](repeating: 0, count: count)
            out[0] = first
            var delta = firstDelta
            out[1] = first &+ delta
            for i in 2..<count {
                delta = delta &+ (Int64(bitPattern: packed[i - 2]) &+ minimum)
                out[i] = out[i - 1] &+ delta
            }
            return out
        case .dictionary:
            let size = try r.count("dictionary size", limit: r.remaining / 8)
            let dictionary = try r.array(of: Int64.self, size, "dictionary values")
            let codes = try unpack(&r, count: count).map { UInt32(truncatingIfNeeded: $0) }
            var out = [Int64](repeating: 0, count: count)
            let ok = codes.withUnsafeBufferPointer { c in
                dictionary.withUnsafeBufferPointer { d in out.withUnsafeMutableBufferPointer { GatherKernels.gather(codes: c, dictionary: d, into: $0) } }
            }
            guard ok else { throw r.corrupt("dictionary code out of range") }
            return out
        case .runLength:
            let runCount = try r.count("run count", limit: r.remaining / 12)
            var values = [Int64](), lengths = [UInt32]()
            for _ in 0..<runCount {
                values.append(try r.i64("run value"))
                lengths.append(try r.u32("run length"))
            }
            var out = [Int64](repeating: 0, count: count)
            let ok = values.withUnsafeBufferPointer { v in
                lengths.withUnsafeBufferPointer { l in out.withUnsafeMutableBufferPointer { GatherKernels.expandRuns(runValues: v, runLengths: l, into: $0) } }
            }
            guard ok else { throw r.corrupt("runs do not add up to \(count) rows") }
            return out
        }
    }
}

/// Encodings of byte strings (string and binary columns): plain or dictionary.
enum ByteArrayEncoding {
    static func encode(offsets: [Int32], bytes: [UInt8], as tag: EncodingTag) -> [UInt8]? {
        let count = max(0, offsets.count - 1)
        var w = BinaryWriter()
        switch tag {
        case .plain:
            IntegerEncoding.pack((0..<count).map { UInt64(offsets[$0 + 1] - offsets[$0]) }, into: &w)
            w.raw(bytes[Int(offsets.first ?? 0)..<Int(offsets.last ?? 0)])
        case .dictionary:
            var entries = ByteStringTable()
            var codes: [UInt64] = []
            codes.reserveCapacity(count)
            let limit = max(256, count / 2)
            let fits = bytes.withUnsafeBufferPointer { all -> Bool in
                for i in 0..<count {
                    let value = UnsafeBufferPointer(rebasing: all[Int(offsets[i])..<Int(offsets[i + 1])])
                    let (code, inserted) = entries.intern(value)
                    codes.append(UInt64(code))
                    if inserted, entries.count > limit { return false }
                }
                return true
            }
            guard fits else { return nil }
            w.u32(UInt32(entries.count))
            IntegerEncoding.pack((0..<entries.count).map { UInt64(entries.string($0).count) }, into: &w)
            for id in 0..<entries.count { w.raw(entries.string(id)) }
            IntegerEncoding.pack(codes, into: &w)
        default:
            return nil
        }
        return w.bytes
    }

    static func best(offsets: [Int32], bytes: [UInt8], forced: EncodingTag?) -> (EncodingTag, [UInt8]) {
        if let forced, let encoded = encode(offsets: offsets, bytes: bytes, as: forced) { return (forced, encoded) }
        let plain = encode(offsets: offsets, bytes: bytes, as: .plain) ?? []
        if let dictionary = encode(offsets: offsets, bytes: bytes, as: .dictionary), dictionary.count < plain.count {
            return (.dictionary, dictionary)
        }
        return (.plain, plain)
    }

    /// The values as offsets and bytes and, for a dictionary chunk, also as codes into it.
    static func decode(_ r: inout BinaryReader, tag: EncodingTag, count: Int) throws(FormatError)
        -> (offsets: [Int32], bytes: [UInt8], dictionary: ColumnDictionary?) {
        switch tag {
        case .plain:
            let lengths = try IntegerEncoding.unpack(&r, count: count)
            var offsets = [Int32](repeating: 0, count: count + 1)
            var total = 0
            let available = min(r.remaining, Int(Int32.max))
            for i in 0..<count {
                guard lengths[i] <= UInt64(available) else { throw r.corrupt("string lengths exceed the chunk") }
                total += Int(lengths[i])
                guard total <= available else { throw r.corrupt("string lengths exceed the chunk") }
                offsets[i + 1] = Int32(total)
            }
            return (offsets, try r.raw(total, "string bytes"), nil)
        case .dictionary:
            let size = try r.count("dictionary size", limit: r.remaining)
            let lengths = try IntegerEncoding.unpack(&r, count: size)
            var entryOffsets = [Int32](repeating: 0, count: size + 1)
            var entryTotal = 0
            for (i, length) in lengths.enumerated() {
                guard length <= UInt64(r.remaining - entryTotal) else { throw r.corrupt("dictionary entry exceeds the chunk") }
                entryTotal += Int(length)
                entryOffsets[i + 1] = Int32(entryTotal)
            }
            let entryBytes = try r.raw(entryTotal, "dictionary entries")
            let wide = try IntegerEncoding.unpack(&r, count: count)
            // Codes checked and narrowed, and the decoded size summed, in one pass; then offsets
            // and bytes written in one more, into arrays of their final size.
            var total = 0
            var outOfRange: UInt64? = nil
            let codes = [UInt32](unsafeUninitializedCapacity: count) { out, initialized in
                wide.withUnsafeBufferPointer { wide in
                    entryOffsets.withUnsafeBufferPointer { entries in
                        for i in 0..<count {
                            let code = wide[i]
                            guard code < UInt64(size) else { outOfRange = code; break }
                            out[i] = UInt32(truncatingIfNeeded: code)
                            total += Int(entries[Int(code) + 1] &- entries[Int(code)])
                        }
                    }
                }
                if outOfRange != nil { out.baseAddress?.update(repeating: 0, count: count) }
                initialized = count
            }
            if let outOfRange { throw r.corrupt("dictionary code \(outOfRange) out of range") }
            guard total <= Int(Int32.max) else { throw r.corrupt("decoded strings too large") }
            // Entries are copied eight bytes at a time (most are shorter than a word, where a
            // memcpy call per row cost more than the copy): the source is padded and the output
            // has eight spare bytes, so a word read or written past an entry's end stays inside.
            let padded = entryBytes + [UInt8](repeating: 0, count: 8)
            var offsets = [Int32](repeating: 0, count: count + 1)
            let bytes = [UInt8](unsafeUninitializedCapacity: total + 8) { out, initialized in
                padded.withUnsafeBytes { entries in
                    entryOffsets.withUnsafeBufferPointer { starts in
                        offsets.withUnsafeMutableBufferPointer { offsets in
                            guard let source = entries.baseAddress, let target = out.baseAddress else { return }
                            let raw = UnsafeMutableRawPointer(target)
                            var at = 0
                            for i in 0..<count {
                                let code = Int(codes[i])
                                let start = Int(starts[code]), length = Int(starts[code + 1]) - start
                                var k = 0
                                repeat {
                                    raw.storeBytes(of: source.loadUnaligned(fromByteOffset: start + k, as: UInt64.self), toByteOffset: at + k, as: UInt64.self)
                                    k += 8
                                } while k < length
                                at += length
                                offsets[i + 1] = Int32(truncatingIfNeeded: at)
                            }
                        }
                    }
                }
                initialized = total
            }
            return (offsets, bytes, ColumnDictionary(codes: codes, entryOffsets: entryOffsets, entryBytes: entryBytes))
        default:
            throw r.corrupt("encoding \(tag) does not apply to strings")
        }
    }
}
