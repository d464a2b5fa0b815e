// The one error type of object storage.

/// A failed object-store call: what kind of failure (for retry policies), which key, and why.
public struct ObjectStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// No object under the key.
        case notFound
        /// `putIfAbsent` lost: an object already exists under the key.
        case alreadyExists
        /// Credentials missing, wrong or not allowed (HTTP 401/403).
        case unauthorized
        /// The request did not finish in time. Transient.
        case timeout
        /// The service failed or throttled (HTTP 5xx, 429, SlowDown). Transient.
        case service
        /// The service could not be reached (connection refused or reset). Transient.
        case unavailable
        /// A local I/O failure or an unexpected response.
        case io
        /// The key is not valid (see `ObjectKey`).
        case invalidKey
        /// The byte range does not fit the object.
        case invalidRange
        /// A read returned fewer bytes than the object holds in that range (a response cut
        /// short). Transient.
        case truncated
        /// The caller's task was cancelled; the call was abandoned.
        case cancelled
    }

    public var kind: Kind
    public var key: String?
    public var message: String

    public init(_ kind: Kind, key: String? = nil, _ message: String) {
        self.kind = kind
        self.key = key
        self.message = message
    }

    /// Whether repeating the same call may succeed.
    public var isTransient: Bool {
        switch kind {
        case .timeout, .service, .unavailable, .truncated: true
        default: false
        }
    }

    public var description: String {
        if let key { "object store \(kind.rawValue) error for '\(key)': \(message)" } else { "object store \(kind.rawValue) error: \(message)" }
    }
}
