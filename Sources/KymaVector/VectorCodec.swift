// The bytes of a collection's objects on the object store: write-ahead batches (upserts and
// deletes in order) and segments (live records plus the HNSW graph built over them).
//
//   write-ahead batch: "KVW1" | u32 ops | per op: u8 kind (1 upsert, 2 delete) | string id
//                      | upsert: u32 dimension | dimension x f32 | string fields JSON | u8 has text | [string text]
//   segment:           "KVS1" | u32 dimension | u32 records | per record: as an upsert op without the kind
//                      | graph: u32 max level | u8 has entry | u32 entry | u64 level-generator state
//                      | per node: u8 level | per layer: u32 n | n x u32 neighbour
//   strings: u32 length + UTF-8. Integers and floats little-endian.

import KymaCore
import KymaFormat
import KymaIndex

enum VectorOperation: Sendable, Hashable {
    case upsert(VectorRecord)
    case delete(String)
}

enum VectorCodec {
    static let walMagic = Array("KVW1".utf8), segmentMagic = Array("KVS1".utf8)

    static func encodeBatch(_ operations: [VectorOperation]) -> [UInt8] {
        var w = BinaryWriter()
        w.raw(walMagic)
        w.u32(UInt32(operations.count))
        for operation in operations {
            switch operation {
            case .upsert(let record):
                w.u8(1)
                writeRecord(record, &w)
            case .delete(let id):
                w.u8(2)
                w.string(id)
            }
        }
        return w.bytes
    }

    static func decodeBatch(_ bytes: [UInt8], key: String) throws(FormatError) -> [VectorOperation] {
        var r = BinaryReader(bytes, key: key)
        guard try r.raw(4, "magic") == walMagic else { throw r.corrupt("not a Kyma vector write-ahead batch") }
        let count = try r.count("operations", limit: r.remaining)
        var operations: [VectorOperation] = []
        for _ in 0..<count {
            switch try r.u8("operation kind") {
            case 1: operations.append(.upsert(try readRecord(&r)))
            case 2: operations.append(.delete(try r.string("id")))
            case let other: throw r.corrupt("unknown operation kind \(other)")
            }
        }
        guard r.isAtEnd else { throw r.corrupt("\(r.remaining) unexpected bytes after the batch") }
        return operations
    }

    static func encodeSegment(dimension: Int, records: [VectorRecord], graph: HNSWGraph) -> [UInt8] {
        var w = BinaryWriter()
        w.raw(segmentMagic)
        w.u32(UInt32(dimension))
        w.u32(UInt32(records.count))
        for record in records { writeRecord(record, &w) }
        w.u32(UInt32(graph.maxLevel))
        w.u8(graph.entryPoint == nil ? 0 : 1)
        w.u32(graph.entryPoint ?? 0)
        w.u64(graph.random)
        for (level, layers) in zip(graph.levels, graph.neighbours) {
            w.u8(level)
            for layer in layers {
                w.u32(UInt32(layer.count))
                for id in layer { w.u32(id) }
            }
        }
        return w.bytes
    }

    static func decodeSegment(_ bytes: [UInt8], key: String) throws(FormatError) -> (dimension: Int, records: [VectorRecord], graph: HNSWGraph) {
        var r = BinaryReader(bytes, key: key)
        guard try r.raw(4, "magic") == segmentMagic else { throw r.corrupt("not a Kyma vector segment") }
        let dimension = try r.count("dimension", limit: 65_536)
        let count = try r.count("records", limit: r.remaining)
        var records: [VectorRecord] = []
        for _ in 0..<count { records.append(try readRecord(&r)) }
        let maxLevel = try r.count("max level", limit: 30)
        let hasEntry = try r.u8("has entry") != 0
        let entry = try r.u32("entry point")
        let random = try r.u64("level generator")
        var levels: [UInt8] = [], neighbours: [[[UInt32]]] = []
        for _ in 0..<count {
            let level = try r.u8("level")
            guard level <= 30 else { throw r.corrupt("level \(level)") }
            var layers: [[UInt32]] = []
            for _ in 0...Int(level) {
                let n = try r.count("neighbours", limit: r.remaining / 4)
                layers.append(try r.array(of: UInt32.self, n, "neighbour ids"))
            }
            levels.append(level)
            neighbours.append(layers)
        }
        guard r.isAtEnd else { throw r.corrupt("\(r.remaining) unexpected bytes after the segment") }
        return (dimension, records, HNSWGraph(levels: levels, neighbours: neighbours, deleted: [], entryPoint: hasEntry ? entry : nil,
                                             maxLevel: maxLevel, random: random))
    }

    static func writeRecord(_ record: VectorRecord, _ w: inout BinaryWriter) {
        w.string(record.id)
        w.u32(UInt32(record.vector.count))
        for value in record.vector { w.u32(value.bitPattern) }
        w.string(PayloadJSON.encode(record.fields))
        if let text = record.text {
            w.u8(1)
            w.string(text)
        } else {
            w.u8(0)
        }
    }

    static func readRecord(_ r: inout BinaryReader) throws(FormatError) -> VectorRecord {
        let id = try r.string("id")
        let dimension = try r.count("dimension", limit: r.remaining / 4)
        let vector = try r.array(of: UInt32.self, dimension, "vector").map(Float.init(bitPattern:))
        let fieldsText = try r.string("fields")
        guard let fields = PayloadJSON.decode(fieldsText) else { throw r.corrupt("fields are not a JSON object of scalars") }
        let text = try r.u8("has text") != 0 ? try r.string("text") : nil
        return VectorRecord(id: id, vector: vector, fields: fields, text: text)
    }
}
