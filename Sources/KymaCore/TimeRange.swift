// Closed time intervals in nanoseconds, the unit of time pruning at every level.

/// A closed interval `[lowerNanos, upperNanos]` of nanoseconds since the Unix epoch (UTC).
public struct TimeRange: Sendable, Hashable, Codable {
    public var lowerNanos: Int64
    public var upperNanos: Int64

    public init(lowerNanos: Int64, upperNanos: Int64) {
        self.lowerNanos = lowerNanos
        self.upperNanos = upperNanos
    }

    public static let all = TimeRange(lowerNanos: .min, upperNanos: .max)

    public var isEmpty: Bool { lowerNanos > upperNanos }

    public func overlaps(_ other: TimeRange) -> Bool {
        !isEmpty && !other.isEmpty && lowerNanos <= other.upperNanos && other.lowerNanos <= upperNanos
    }

    public func contains(_ nanos: Int64) -> Bool {
        lowerNanos <= nanos && nanos <= upperNanos
    }
}
