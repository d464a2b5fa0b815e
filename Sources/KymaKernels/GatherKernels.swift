// Dictionary gather, run-length expansion and predicates evaluated on encoded values.

public enum GatherKernels {
    /// out[i] = dictionary[codes[i]]. Returns false (and writes nothing further) at the first code
    /// outside the dictionary, so a corrupt chunk is an error, never an out-of-bounds read.
    @inlinable
    public static func gather<T>(
        codes: UnsafeBufferPointer<UInt32>, dictionary: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>
    ) -> Bool {
        precondition(output.count >= codes.count)
        let limit = UInt32(truncatingIfNeeded: dictionary.count)
        var maxCode: UInt32 = 0
        for code in codes { maxCode = max(maxCode, code) }  // one branch-free pass, then no checks
        guard codes.isEmpty || (dictionary.count <= Int(UInt32.max) && maxCode < limit) else { return false }
        for i in codes.indices { output[i] = dictionary[Int(codes[i])] }
        return true
    }

    /// Expands runs: `runValues[r]` repeated `runLengths[r]` times. Returns false when the runs
    /// do not add up to exactly `output.count`.
    @inlinable
    public static func expandRuns<T>(
        runValues: UnsafeBufferPointer<T>, runLengths: UnsafeBufferPointer<UInt32>, into output: UnsafeMutableBufferPointer<T>
    ) -> Bool {
        guard runValues.count == runLengths.count else { return false }
        var position = 0
        for r in runValues.indices {
            let length = Int(runLengths[r])
            guard length <= output.count - position else { return false }
            let value = runValues[r]
            for i in position..<position + length { output[i] = value }
            position += length
        }
        return position == output.count
    }
}

/// Comparison operators that predicates push down to encoded data.
public enum ComparisonOperator: UInt8, Sendable, Hashable, CaseIterable {
    case equal = 0, notEqual = 1, less = 2, lessOrEqual = 3, greater = 4, greaterOrEqual = 5

    @inlinable
    public func evaluate<T: Comparable>(_ lhs: T, _ rhs: T) -> Bool {
        switch self {
        case .equal: lhs == rhs
        case .notEqual: lhs != rhs
        case .less: lhs < rhs
        case .lessOrEqual: lhs <= rhs
        case .greater: lhs > rhs
        case .greaterOrEqual: lhs >= rhs
        }
    }
}

public enum PredicateKernels {
    /// Sets bit i of `selection` (64 rows a word) when `values[i] op constant`. Used on unpacked
    /// dictionary codes and frame-of-reference offsets, so rows are selected before any value is
    /// materialised. Builds each 64-bit word without a branch per row.
    @inlinable
    public static func compare<T: FixedWidthInteger>(
        _ values: UnsafeBufferPointer<T>, _ op: ComparisonOperator, _ constant: T, into selection: UnsafeMutableBufferPointer<UInt64>
    ) {
        precondition(selection.count * 64 >= values.count)
        let fullWords = values.count / 64
        for w in 0..<fullWords {
            var word: UInt64 = 0
            let base = w * 64
            switch op {
            case .equal: for b in 0..<64 { word |= UInt64(values[base + b] == constant ? 1 : 0) << UInt64(b) }
            case .notEqual: for b in 0..<64 { word |= UInt64(values[base + b] != constant ? 1 : 0) << UInt64(b) }
            case .less: for b in 0..<64 { word |= UInt64(values[base + b] < constant ? 1 : 0) << UInt64(b) }
            case .lessOrEqual: for b in 0..<64 { word |= UInt64(values[base + b] <= constant ? 1 : 0) << UInt64(b) }
            case .greater: for b in 0..<64 { word |= UInt64(values[base + b] > constant ? 1 : 0) << UInt64(b) }
            case .greaterOrEqual: for b in 0..<64 { word |= UInt64(values[base + b] >= constant ? 1 : 0) << UInt64(b) }
            }
            selection[w] = word
        }
        let tail = values.count - fullWords * 64
        if tail > 0 {
            var word: UInt64 = 0
            for b in 0..<tail where op.evaluate(values[fullWords * 64 + b], constant) { word |= 1 << UInt64(b) }
            selection[fullWords] = word
        }
    }
}
