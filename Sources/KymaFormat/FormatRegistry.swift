// Picks the reader of an extent from the magic bytes at its tail.

import KymaObjectStore

public struct FormatRegistry: Sendable {
    public private(set) var formats: [any SegmentFormat]
    /// How many bytes the first (suffix) request fetches. 16 KiB holds the footer of an extent of
    /// up to a million rows of ten-odd columns (the indexes are outside it); a larger footer costs
    /// a second GET of exactly its rest. At 64 KiB, opening small extents read mostly index bytes
    /// no query asked for (reports/formats.md).
    public var tailFetchBytes: Int

    public init(_ formats: [any SegmentFormat], tailFetchBytes: Int = 16 << 10) {
        self.formats = formats
        self.tailFetchBytes = tailFetchBytes
    }

    public func format(named name: String) -> (any SegmentFormat)? {
        formats.first { $0.name == name }
    }

    /// Opens `key` with the format whose tail magic its last bytes carry.
    public func open(store: any ObjectStore, key: ObjectKey, size: Int) async throws(FormatError) -> any ExtentReader {
        let tail: [UInt8]
        do {
            tail = try await store.get(key, range: .suffix(length: tailFetchBytes))
        } catch {
            throw .store(error)
        }
        for format in formats where tail.count >= format.tailMagic.count && Array(tail.suffix(format.tailMagic.count)) == format.tailMagic {
            return try await format.openExtent(store: store, key: key, size: size, tail: tail)
        }
        throw .unknownFormat(key: key.rawValue, tail: Array(tail.suffix(4)))
    }
}
