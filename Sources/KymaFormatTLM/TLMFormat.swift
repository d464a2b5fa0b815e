// The TLM `SegmentFormat`: identity, writer creation, and opening extents (tail, then footer).

import KymaCore
import KymaFormat
import KymaKernels
import KymaObjectStore

public struct TLMFormat: SegmentFormat {
    public static let name = "tlm"

    public init() {}

    public var name: String { Self.name }
    public var version: Int { Int(TLM.version) }
    public var tailMagic: [UInt8] { TLM.magic }

    public func makeWriter(schema: Schema, options: FormatOptions) throws(FormatError) -> any ExtentWriter {
        let parsed = try TLMOptions(options)
        if schema.fields.count > TLM.maxColumns { throw .schemaMismatch("more than \(TLM.maxColumns) columns") }
        return TLMWriter(schema: schema, options: parsed)
    }

    /// Reads the tail (from `tail`, else one suffix GET), then the footer if the tail did not
    /// hold all of it: at most two requests.
    public func openExtent(store: any ObjectStore, key: ObjectKey, size: Int, tail: [UInt8]?) async throws(FormatError) -> any ExtentReader {
        var fetched = 0
        var suffix: [UInt8]
        if let tail, !tail.isEmpty {
            suffix = tail
        } else {
            do { suffix = try await store.get(key, range: .suffix(length: 16 << 10)) } catch { throw .store(error) }
            fetched += suffix.count
        }
        let location = try Self.locateFooter(suffix: suffix, size: size, key: key.rawValue)
        // A suffix that is the whole object holds the header too: check it now, for free.
        // Otherwise the first read of the first chunk checks it (`TLMReader.read`).
        if suffix.count == size { try TLM.checkHeader(suffix.prefix(TLM.headerSize), tailVersion: location.version, key: key.rawValue) }
        let footerBytes: [UInt8]
        if location.length + TLM.tailSize <= suffix.count {
            let end = suffix.count - TLM.tailSize
            footerBytes = Array(suffix[(end - location.length)..<end])
        } else {
            do { footerBytes = try await store.get(key, range: .bounded(offset: location.start, length: location.length)) } catch { throw .store(error) }
            fetched += footerBytes.count
            guard footerBytes.count == location.length else {
                throw .corrupt(key: key.rawValue, offset: location.start, reason: "footer read returned \(footerBytes.count) of \(location.length) bytes")
            }
        }
        let footer = try Self.decodeFooter(footerBytes, checksum: location.checksum, start: location.start, key: key.rawValue, version: location.version)
        return TLMReader(store: store, key: key, footer: footer, version: location.version, footerStart: location.start, footerBytesFetched: fetched)
    }

    /// Where the footer is, from the tail in the last bytes of `suffix` (the end of an object of
    /// `size` bytes).
    static func locateFooter(suffix: [UInt8], size: Int, key: String) throws(FormatError) -> (start: Int, length: Int, checksum: UInt32, version: UInt16) {
        guard size >= TLM.headerSize + TLM.tailSize, suffix.count >= TLM.tailSize, suffix.count <= size else {
            throw .corrupt(key: key, offset: 0, reason: "object of \(size) bytes is too small for a TLM extent")
        }
        var tail = BinaryReader(Array(suffix.suffix(TLM.tailSize)), baseOffset: size - TLM.tailSize, key: key)
        let checksum = try tail.u32("footer checksum")
        let length = Int(try tail.u32("footer length"))
        let version = try tail.u16("version")
        guard try tail.raw(4, "magic") == TLM.magic else { throw tail.corrupt("missing KTLM magic") }
        guard TLM.readableVersions.contains(version) else { throw .unsupportedVersion(key: key, offset: size - 6, format: name, version: Int(version)) }
        let start = size - TLM.tailSize - length
        guard length > 0, start >= TLM.headerSize else {
            throw .corrupt(key: key, offset: size - TLM.tailSize, reason: "footer length \(length) does not fit the object")
        }
        return (start, length, checksum, version)
    }

    static func decodeFooter(_ bytes: [UInt8], checksum: UInt32?, start: Int, key: String, version: UInt16) throws(FormatError) -> TLMFooter {
        guard checksum == nil || CRC32C.checksum(bytes) == checksum else { throw .corrupt(key: key, offset: start, reason: "footer checksum mismatch") }
        return try TLMFooter.decode(bytes, key: key, baseOffset: start, dataEnd: start, version: version)
    }

    /// Parses the tail and footer of a whole extent held in memory: for inspection tools and
    /// the footer fuzzer. Throws `FormatError` for any damage. `verifyChecksum: false` lets a
    /// fuzzer reach the footer parser with bytes whose CRC it could not have fixed up.
    public static func inspect(extent bytes: [UInt8], key: String, verifyChecksum: Bool = true) throws(FormatError) -> TLMExtentInfo {
        let location = try locateFooter(suffix: bytes, size: bytes.count, key: key)
        try TLM.checkHeader(bytes.prefix(TLM.headerSize), tailVersion: location.version, key: key)
        let footer = try decodeFooter(Array(bytes[location.start..<location.start + location.length]),
                                      checksum: verifyChecksum ? location.checksum : nil, start: location.start, key: key, version: location.version)
        return TLMExtentInfo(schema: footer.schema, blockCount: footer.blocks.count,
                             rowCount: footer.blocks.reduce(0) { $0 + Int($1.rowCount) }, footerBytes: location.length)
    }
}

/// What `TLMFormat.inspect` reports about an extent.
public struct TLMExtentInfo: Sendable, Hashable {
    public var schema: Schema
    public var blockCount: Int
    public var rowCount: Int
    public var footerBytes: Int
}
