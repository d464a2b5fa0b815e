// Capped exponential backoff with full jitter, applied to transient object-store errors.

/// Retries transient failures (`ObjectStoreError.isTransient`) with capped exponential backoff
/// and full jitter: attempt n sleeps a random time in `[0, min(cap, base * 2^(n-1))]`.
/// Final errors (4xx, not found, invalid key...) are thrown at once.
public struct RetryPolicy: Sendable, Hashable {
    public var maxAttempts: Int
    public var baseDelayMillis: Int
    public var maxDelayMillis: Int

    public init(maxAttempts: Int = 5, baseDelayMillis: Int = 50, maxDelayMillis: Int = 2000) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelayMillis = max(0, baseDelayMillis)
        self.maxDelayMillis = max(0, maxDelayMillis)
    }

    public static let none = RetryPolicy(maxAttempts: 1)

    /// The upper bound of the sleep before attempt `attempt` (2, 3, ...).
    public func delayCapMillis(beforeAttempt attempt: Int) -> Int {
        let exponent = min(max(attempt - 2, 0), 30)
        let grown = baseDelayMillis.multipliedReportingOverflow(by: 1 << exponent)
        return grown.overflow ? maxDelayMillis : min(maxDelayMillis, grown.partialValue)
    }

    /// Runs `operation`, retrying transient errors. `operation` receives the attempt number
    /// (1-based), so callers can treat a retried conditional write specially.
    public func run<T: Sendable>(
        _ operation: (Int) async throws(ObjectStoreError) -> T
    ) async throws(ObjectStoreError) -> T {
        var attempt = 1
        while true {
            do {
                return try await operation(attempt)
            } catch {
                guard error.isTransient, attempt < maxAttempts else { throw error }
                attempt += 1
                let cap = delayCapMillis(beforeAttempt: attempt)
                let sleepMillis = cap > 0 ? Int.random(in: 0...cap) : 0
                do {
                    try await Task.sleep(for: .milliseconds(sleepMillis))
                } catch {
                    throw ObjectStoreError(.cancelled, key: nil, "cancelled while waiting to retry (\(attempt - 1) attempt(s) failed)")
                }
            }
        }
    }
}
