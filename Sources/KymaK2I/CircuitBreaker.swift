// The circuit breaker around catalog and object-store commits. Closed: commits go through;
// `failureThreshold` consecutive failures open it. Open: no commit is tried until `cooldown`
// has passed, then one trial (half-open): success closes it, failure opens it again. While it is
// not closed the buffer keeps its rows (nothing is dropped) and backpressure pauses Kafka.

public struct CircuitBreaker: Sendable {
    public enum State: String, Sendable { case closed, open, halfOpen = "half_open" }

    public let failureThreshold: Int
    public let cooldownMillis: Int64
    public private(set) var state = State.closed
    public private(set) var consecutiveFailures = 0
    public private(set) var openedAtMillis: Int64 = 0
    /// How many times the breaker opened.
    public private(set) var trips = 0

    public init(failureThreshold: Int, cooldownMillis: Int64) {
        self.failureThreshold = max(1, failureThreshold)
        self.cooldownMillis = max(0, cooldownMillis)
    }

    /// Whether a commit may be tried now (moving open -> half-open after the cool-down).
    public mutating func allow(nowMillis: Int64) -> Bool {
        switch state {
        case .closed, .halfOpen: return true
        case .open:
            guard nowMillis - openedAtMillis >= cooldownMillis else { return false }
            state = .halfOpen
            return true
        }
    }

    public mutating func recordSuccess() {
        state = .closed
        consecutiveFailures = 0
    }

    public mutating func recordFailure(nowMillis: Int64) {
        consecutiveFailures += 1
        if state == .halfOpen || consecutiveFailures >= failureThreshold {
            if state != .open { trips += 1 }
            state = .open
            openedAtMillis = nowMillis
        }
    }
}
