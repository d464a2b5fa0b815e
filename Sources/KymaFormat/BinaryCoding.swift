// Little-endian binary writing and bounds-checked reading for format footers and chunks.
// Every read checks its length against the buffer, so damaged input is a typed error naming
// the object and offset.

public struct BinaryWriter: Sendable {
    public var bytes: [UInt8] = []

    public init() {}

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    public mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    public mutating func f64(_ v: Double) { u64(v.bitPattern) }
    public mutating func raw(_ v: [UInt8]) { bytes.append(contentsOf: v) }
    public mutating func raw(_ v: ArraySlice<UInt8>) { bytes.append(contentsOf: v) }
    /// u32 length, then the bytes.
    public mutating func blob(_ v: [UInt8]) { u32(UInt32(v.count)); raw(v) }
    public mutating func string(_ v: String) { blob(Array(v.utf8)) }
}

public struct BinaryReader {
    public let bytes: [UInt8]
    /// Offset of `bytes[0]` in the object, for error messages.
    public let baseOffset: Int
    public let key: String
    public private(set) var position: Int

    public init(_ bytes: [UInt8], baseOffset: Int = 0, key: String, position: Int = 0) {
        self.bytes = bytes
        self.baseOffset = baseOffset
        self.key = key
        self.position = position
    }

    public var remaining: Int { bytes.count - position }
    public var isAtEnd: Bool { position >= bytes.count }

    public func corrupt(_ reason: String) -> FormatError {
        .corrupt(key: key, offset: baseOffset + position, reason: reason)
    }

    mutating func take(_ count: Int, _ what: String) throws(FormatError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else { throw corrupt("\(what) needs \(count) bytes, \(remaining) remain") }
        defer { position += count }
        return bytes[position..<position + count]
    }

    public mutating func u8(_ what: String = "u8") throws(FormatError) -> UInt8 { try take(1, what).first ?? 0 }

    public mutating func u16(_ what: String = "u16") throws(FormatError) -> UInt16 {
        let s = try take(2, what)
        return UInt16(s[s.startIndex]) | UInt16(s[s.startIndex + 1]) << 8
    }

    public mutating func u32(_ what: String = "u32") throws(FormatError) -> UInt32 {
        let s = try take(4, what)
        var v: UInt32 = 0
        for (i, b) in s.enumerated() { v |= UInt32(b) << UInt32(8 * i) }
        return v
    }

    public mutating func u64(_ what: String = "u64") throws(FormatError) -> UInt64 {
        let s = try take(8, what)
        var v: UInt64 = 0
        for (i, b) in s.enumerated() { v |= UInt64(b) << UInt64(8 * i) }
        return v
    }

    public mutating func i64(_ what: String = "i64") throws(FormatError) -> Int64 { Int64(bitPattern: try u64(what)) }

    /// `count` little-endian integers in one bounds check and one copy.
    public mutating func array<T: FixedWidthInteger>(of type: T.Type, _ count: Int, _ what: String) throws(FormatError) -> [T] {
        let width = MemoryLayout<T>.size
        guard count >= 0, count <= remaining / width else { throw corrupt("\(what) needs \(count) x \(width) bytes, \(remaining) remain") }
        var out = [T](repeating: 0, count: count)
        let start = position
        out.withUnsafeMutableBytes { destination in
            bytes.withUnsafeBytes { source in destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[start..<start + count * width])) }
        }
        position += count * width
        #if _endian(big)
        for i in out.indices { out[i] = T(littleEndian: out[i]) }
        #endif
        return out
    }

    public mutating func f64(_ what: String = "f64") throws(FormatError) -> Double { Double(bitPattern: try u64(what)) }
    public mutating func raw(_ count: Int, _ what: String = "bytes") throws(FormatError) -> [UInt8] { Array(try take(count, what)) }

    /// A count that must be at most `limit` (so a damaged count cannot trigger a huge allocation).
    public mutating func count(_ what: String, limit: Int) throws(FormatError) -> Int {
        let value = Int(try u32(what))
        guard value <= limit else { throw corrupt("\(what) \(value) exceeds its limit \(limit)") }
        return value
    }

    public mutating func blob(_ what: String = "blob") throws(FormatError) -> [UInt8] {
        let length = try count("\(what) length", limit: remaining)
        return try raw(length, what)
    }

    public mutating func string(_ what: String = "string") throws(FormatError) -> String {
        String(decoding: try blob(what), as: UTF8.self)
    }
}
