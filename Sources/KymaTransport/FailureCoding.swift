// A `QueryError` across the wire: a gRPC status code chosen by the error's kind (so generic gRPC
// tooling reads it right) and the whole error in trailing metadata, so the coordinator raises
// the same typed error the leaf met.

import GRPCCore
import KymaPlan
import SwiftProtobuf

enum FailureCoding {
    static let metadataKey = "kyma-failure-bin"

    static func rpcError(_ error: QueryError) -> RPCError {
        var failure = Kyma_Leaf_V1_Failure()
        failure.kind = error.kind.rawValue
        failure.message = error.description
        switch error {
        case .syntax, .cancelled: break
        case .semantic(let message, _):
            failure.resource = "semantic"
            failure.detail = message
        case .type(let message):
            failure.resource = "type"
            failure.detail = message
        case .unknownTable(let name): failure.object = name
        case .internalError(let message): failure.detail = message
        case .resourcesExhausted(let resource, let limit, let used):
            failure.resource = resource
            failure.limit = Int64(limit)
            failure.used = Int64(used)
        case .timeout(let seconds): failure.seconds = seconds
        case .catalogUnavailable(let detail), .storageUnavailable(let detail): failure.detail = detail
        case .corruptData(let object, let detail):
            failure.object = object
            failure.detail = detail
        case .nodeUnavailable(let node, let reason):
            failure.object = node
            failure.detail = reason
        }
        var metadata = Metadata()
        if let bytes: [UInt8] = try? failure.serializedBytes() { metadata.addBinary(bytes, forKey: metadataKey) }
        return RPCError(code: code(error.kind), message: error.description, metadata: metadata)
    }

    static func code(_ kind: QueryErrorKind) -> RPCError.Code {
        switch kind {
        case .badQuery: .invalidArgument
        case .unknownTable: .notFound
        case .budgetExceeded: .resourceExhausted
        case .timeout: .deadlineExceeded
        case .cancelled: .cancelled
        case .catalogUnavailable, .storageUnavailable, .nodeUnavailable: .unavailable
        case .corruptData: .dataLoss
        case .internalError: .internalError
        }
    }

    /// The query error an RPC error carries, when a leaf raised one.
    static func queryError(_ error: RPCError) -> QueryError? {
        guard let bytes = error.metadata[binaryValues: metadataKey].first(where: { _ in true }),
              let failure = try? Kyma_Leaf_V1_Failure(serializedBytes: bytes),
              let kind = QueryErrorKind(rawValue: failure.kind) else { return nil }
        switch kind {
        case .badQuery: return failure.resource == "type" ? .type(failure.detail) : .semantic(failure.detail.isEmpty ? failure.message : failure.detail, at: nil)
        case .unknownTable: return .unknownTable(failure.object)
        case .budgetExceeded: return .resourcesExhausted(resource: failure.resource, limit: Int(failure.limit), used: Int(failure.used))
        case .timeout: return .timeout(seconds: failure.seconds)
        case .cancelled: return .cancelled
        case .catalogUnavailable: return .catalogUnavailable(failure.detail)
        case .storageUnavailable: return .storageUnavailable(failure.detail)
        case .corruptData: return .corruptData(object: failure.object, detail: failure.detail)
        case .nodeUnavailable: return .nodeUnavailable(node: failure.object, reason: failure.detail)
        case .internalError: return .internalError(failure.detail)
        }
    }
}
