// Columns built from scalar values (the general path of the evaluator, and results) and
// gathered by row numbers.

import KymaCore
import KymaPlan

/// Columns built from scalars (the general path and results).
enum ColumnFactory {
    /// The column of `values`: typed by the first non-null value; int64 mixed with float64 is
    /// float64; any other mix is string.
    static func column(_ values: [ScalarValue]) -> Column {
        let type = ColumnTyping.commonType(values)
        var builder = ColumnBuilder(type ?? .string)
        for value in values { try? builder.append(coerce(value, to: type ?? .string)) }  // coerce makes the types agree
        return builder.finish()
    }

    static func coerce(_ value: ScalarValue, to type: DataType) -> ScalarValue {
        if value == .null || value.dataType == type { return value }
        switch (value, type) {
        case (.int64(let v), .float64): return .float64(Double(v))
        case (_, .string): return ScalarCasts.kustoString(value, timespan: false)
        default: return .null
        }
    }

    static func repeating(_ value: ScalarValue, count: Int) -> Column {
        column([ScalarValue](repeating: value, count: count))
    }
}

extension Column {
    /// The rows `rows` of this column, in that order.
    func gathered(_ rows: [UInt32]) -> Column {
        var validity: ValidityBitmap? = nil
        if let source = self.validity {
            var bitmap = ValidityBitmap(allValid: rows.count)
            for (i, row) in rows.enumerated() where !source.isValid(Int(row)) { bitmap.set(i, valid: false) }
            validity = bitmap
        }
        switch values {
        case .bool(let v): return Column(.bool(rows.map { v[Int($0)] }), validity: validity)
        case .int64(let v): return Column(.int64(rows.map { v[Int($0)] }), validity: validity)
        case .timestamp(let v): return Column(.timestamp(rows.map { v[Int($0)] }), validity: validity)
        case .float64(let v): return Column(.float64(rows.map { v[Int($0)] }), validity: validity)
        case .string(let offsets, let bytes), .binary(let offsets, let bytes):
            var newOffsets: [Int32] = [0]
            newOffsets.reserveCapacity(rows.count + 1)
            var newBytes: [UInt8] = []
            for row in rows {
                newBytes.append(contentsOf: bytes[Int(offsets[Int(row)])..<Int(offsets[Int(row) + 1])])
                newOffsets.append(Int32(newBytes.count))
            }
            if case .string = values {
                return Column(.string(offsets: newOffsets, bytes: newBytes), validity: validity, dictionary: dictionary?.gathered(rows))
            }
            return Column(.binary(offsets: newOffsets, bytes: newBytes), validity: validity)
        case .float32Vector(let dimension, let v):
            var out: [Float] = []
            out.reserveCapacity(rows.count * dimension)
            for row in rows { out.append(contentsOf: v[Int(row) * dimension..<(Int(row) + 1) * dimension]) }
            return Column(.float32Vector(dimension: dimension, values: out), validity: validity)
        }
    }
}
