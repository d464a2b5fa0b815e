// The one conversion of storage failures into query errors, used by every table source and
// reader provider: the object store's and formats' error kinds decide the `QueryError` kind.

import KymaFormat
import KymaObjectStore
import KymaPlan

public enum StorageErrors {
    /// `error` met while `doing` something (`"reading extent 'k'"`), as a `QueryError`.
    public static func queryError(_ error: any Error, doing: String) -> QueryError {
        switch error {
        case let query as QueryError: return query
        case is CancellationError: return .cancelled
        case let format as FormatError:
            switch format {
            case .corrupt(let key, let offset, let reason): return .corruptData(object: key, detail: "at byte \(offset): \(reason)")
            case .unknownFormat(let key, _): return .corruptData(object: key, detail: format.description)
            case .store(let store): return queryError(store, doing: doing)
            case .unsupportedVersion, .invalidOption, .schemaMismatch, .writerFinished:
                return .internalError("\(doing): \(format)")
            }
        case let store as ObjectStoreError:
            switch store.kind {
            // A committed object that is gone, or shorter than its manifest says, is damage.
            case .notFound, .invalidRange: return .corruptData(object: store.key ?? "?", detail: "\(doing): \(store.message)")
            case .cancelled: return .cancelled
            default: return .storageUnavailable("\(doing): \(store)")
            }
        default:
            return .storageUnavailable("\(doing): \(error)")
        }
    }
}
