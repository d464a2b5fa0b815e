// KymaTransport: Kyma's internal API between nodes over gRPC (grpc-swift 2), the only module
// that imports gRPC. The leaf service runs a plan fragment on this node; `GRPCLeafClient` calls
// it on any node, this one included (over the in-process transport), so one node and a cluster
// run one code path. The .proto is in Proto/; the Swift code in Generated/ is made by
// harness/gen-proto and committed.

import Foundation
import GRPCCore
import KymaExec
import KymaPlan
import KymaTableSource

/// The leaf service: scans the request's units with this node's readers (its store and cache)
/// and streams each unit's output. Holds no state between calls.
struct LeafService: Kyma_Leaf_V1_Leaf.SimpleServiceProtocol {
    let readers: any ReaderProvider
    /// Writes a line to stderr as each scan starts and ends (KYMA_LEAF_LOG=1): what a fault
    /// drill waits for before it kills a node mid-scan.
    let log: Bool

    func scan(request: Kyma_Leaf_V1_ScanRequest, response: RPCWriter<Kyma_Leaf_V1_UnitReply>, context: ServerContext) async throws {
        let plan: PhysicalPlan
        let budget: QueryBudget
        do {
            plan = try PlanCoding.decoder.decode(PhysicalPlan.self, from: request.planJson)
            budget = try PlanCoding.decoder.decode(QueryBudget.self, from: request.budgetJson)
        } catch {
            throw FailureCoding.rpcError(.internalError("leaf request does not decode: \(error)"))
        }
        if log { FileHandle.standardError.write(Data("leaf scan started: \(plan.units.count) unit(s), query \(request.queryID)\n".utf8)) }
        defer { if log { FileHandle.standardError.write(Data("leaf scan ended: query \(request.queryID)\n".utf8)) } }
        let counter = ByteCounter()
        do {
            try await ByteCounter.$current.withValue(counter) {
                try await scanUnits(plan, budget: budget, counter: counter, response: response)
            }
        } catch let error as QueryError {
            throw FailureCoding.rpcError(error)
        }
    }

    func scanUnits(_ plan: PhysicalPlan, budget: QueryBudget, counter: ByteCounter, response: RPCWriter<Kyma_Leaf_V1_UnitReply>) async throws(QueryError) {
        var reported = 0, reportedRequests = 0
        try await QueryExecutor.scanUnits(plan, readers: readers, budget: budget, bytesRead: { counter.value }) { index, output throws(QueryError) in
            var reply = Kyma_Leaf_V1_UnitReply()
            reply.unitIndex = UInt32(index)
            reply.output = Data(output.encoded())
            let total = counter.value
            reply.bytesRead = UInt64(max(0, total - reported))
            reported = total
            reply.requests = UInt64(max(0, counter.requests - reportedRequests))
            reportedRequests = counter.requests
            try await write(reply, to: response)
        }
    }

    func write(_ reply: Kyma_Leaf_V1_UnitReply, to response: RPCWriter<Kyma_Leaf_V1_UnitReply>) async throws(QueryError) {
        do {
            try await response.write(reply)
        } catch {
            throw .cancelled  // the coordinator went away or cancelled the call
        }
    }
}
/// Plans and budgets on the wire: JSON of their `Codable` values (non-finite numbers as strings).
enum PlanCoding {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "+Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "+Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return decoder
    }
}
