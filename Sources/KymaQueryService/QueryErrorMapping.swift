// The one mapping from a query error's kind to what a caller sees: a process exit status for
// the CLI, an HTTP status for the server. Input never maps to an internal error.

import KymaPlan

extension QueryErrorKind {
    /// `kyma query` / `kyma explain` exit statuses (documented in docs/kql.md).
    public var exitStatus: Int32 {
        switch self {
        case .badQuery, .unknownTable: 2
        case .budgetExceeded, .timeout, .cancelled: 3
        case .catalogUnavailable, .storageUnavailable, .nodeUnavailable: 4
        case .corruptData: 5
        case .internalError: 70
        }
    }

    /// The server's HTTP status for the kind.
    public var httpStatus: Int {
        switch self {
        case .badQuery: 400
        case .unknownTable: 404
        case .timeout: 408
        case .budgetExceeded: 413
        case .cancelled: 499
        case .catalogUnavailable, .storageUnavailable, .nodeUnavailable: 503
        case .corruptData, .internalError: 500
        }
    }
}
