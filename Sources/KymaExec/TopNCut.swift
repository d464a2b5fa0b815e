// The typed first step of top-N: within one batch, the rows whose first sort key can still enter
// the N best (the batch's N-th best key, ties kept, and no worse than the operator's running
// threshold). Only those rows go on to the row-at-a-time comparison over `ScalarValue`s, so a
// scan of millions of rows builds a few hundred candidate rows instead of one per row.

enum TopNCut {
    /// Positions of `values` that are not worse than the `n`-th best value (the larger for
    /// `descending`) nor than `bound`, ascending. `n` > 0. Ties with either cut are kept.
    static func contenders<T: Comparable>(_ values: UnsafeBufferPointer<T>, n: Int, descending: Bool, bound: T?) -> [Int] {
        // better(a, b): a sorts strictly before b.
        @inline(__always) func better(_ a: T, _ b: T) -> Bool { descending ? a > b : a < b }
        var cut = bound
        if values.count > n {
            // A heap of the n best seen, the worst of them at the root.
            var heap: [T] = []
            heap.reserveCapacity(n)
            for v in values {
                if let bound, better(bound, v) { continue }
                if heap.count < n {
                    heap.append(v)
                    var child = heap.count - 1
                    while child > 0 {
                        let parent = (child - 1) / 2
                        guard better(heap[parent], heap[child]) else { break }
                        heap.swapAt(parent, child)
                        child = parent
                    }
                } else if better(v, heap[0]) {
                    heap[0] = v
                    var parent = 0
                    while true {
                        let left = 2 * parent + 1, right = left + 1
                        var worst = parent
                        if left < n, better(heap[worst], heap[left]) { worst = left }
                        if right < n, better(heap[worst], heap[right]) { worst = right }
                        if worst == parent { break }
                        heap.swapAt(parent, worst)
                        parent = worst
                    }
                }
            }
            if heap.count == n, cut.map({ better(heap[0], $0) }) ?? true { cut = heap[0] }
        }
        var out: [Int] = []
        for (i, v) in values.enumerated() {
            if let cut, better(cut, v) { continue }
            out.append(i)
        }
        return out
    }
}
