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
            do { suffix = try await store.get(key, range: .suffix(length: 64 << 10)) } catch { throw .store(error) }
            fetched += suffix.count
        }
        guard size >= TLM.headerSize + TLM.tailSize, suffix.count >= TLM.tailSize, suffix.count <= size else {
            throw .corrupt(key: key.rawValue, offset: 0, reason: "object of \(size) bytes is too small for a TLM extent")
        }
        var tailReader = BinaryReader(Array(suffix.suffix(TLM.tailSize)), baseOffset: size - TLM.tailSize, key: key.rawValue)
        let footerCRC = try tailReader.u32("footer checksum")
        let footerLength = Int(try tailReader.u32("footer length"))
        let version = try tailReader.u16("version")
        guard try tailReader.raw(4, "magic") == TLM.magic else { throw tailReader.corrupt("missing KTLM magic") }
        guard version == TLM.version else { throw .unsupportedVersion(format: Self.name, version: Int(version)) }
        let footerStart = size - TLM.tailSize - footerLength
        guard footerLength > 0, footerStart >= TLM.headerSize else {
            throw .corrupt(key: key.rawValue, offset: size - TLM.tailSize, reason: "footer length \(footerLength) does not fit the object")
        }
        let footerBytes: [UInt8]
        if footerLength + TLM.tailSize <= suffix.count {
            let end = suffix.count - TLM.tailSize
            footerBytes = Array(suffix[(end - footerLength)..<end])
        } else {
            do { footerBytes = try await store.get(key, range: .bounded(offset: footerStart, length: footerLength)) } catch { throw .store(error) }
            fetched += footerBytes.count
            guard footerBytes.count == footerLength else {
                throw .corrupt(key: key.rawValue, offset: footerStart, reason: "footer read returned \(footerBytes.count) of \(footerLength) bytes")
            }
        }
        guard CRC32C.checksum(footerBytes) == footerCRC else {
            throw .corrupt(key: key.rawValue, offset: footerStart, reason: "footer checksum mismatch")
        }
        let footer = try TLMFooter.decode(footerBytes, key: key.rawValue, baseOffset: footerStart, dataEnd: footerStart)
        return TLMReader(store: store, key: key, footer: footer, footerBytesFetched: fetched)
    }
}
