// KymaBuckets' one error type: what failed (a kind callers branch on) and a message naming it.

import KymaCatalog
import KymaIngest
import KymaObjectStore

public struct BucketsError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// A rule or its options are not valid (unknown pipeline, unknown option, bad value).
        case invalidRule
        /// The object cannot be read as the rule says (bad compression, not UTF-8 lines).
        case badObject
        /// The ingest below failed (rejected lines, a table whose time column differs).
        case ingest
        /// The embedder failed (unreachable, refused, a malformed answer).
        case embedding
        /// The vector collection refused the records (another dimension, an outage).
        case collection
        /// The Iceberg table refused the rows (a column of another type, a commit conflict).
        case iceberg
        /// A source is unusable (unknown, unreachable, its credentials refused).
        case source
        case catalog
        case store
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    init(wrapping error: any Error) {
        switch error {
        case let error as BucketsError: self = error
        case let error as CatalogError: self.init(.catalog, error.description)
        case let error as ObjectStoreError: self.init(.store, error.description)
        case let error as IngestError: self.init(.ingest, error.description)
        default: self.init(.ingest, "\(error)")
        }
    }
}
