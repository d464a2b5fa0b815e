// Where an ingest batch is handled. One node today; the seam for a consistent-hash router over
// many ingest nodes (a table's batches to the node owning its hash range) later.

/// Decides which ingest node handles a batch for a table.
///
/// ## Contract
/// The same table and batch id must route to the same node while membership is unchanged, so
/// a retried batch meets its first attempt's idempotence record on the same path. Routing is
/// advisory: correctness (exactly-once per batch id) comes from the catalog commit, not from it.
public protocol IngestRouter: Sendable {
    func route(table: String, batchID: String?) -> IngestRoute
}

public enum IngestRoute: Sendable, Hashable {
    /// This process ingests the batch.
    case local
    /// Another ingest node, by address.
    case remote(address: String)
}

/// Every batch is ingested here.
public struct LocalRouter: IngestRouter {
    public init() {}
    public func route(table: String, batchID: String?) -> IngestRoute { .local }
}
