// `kyma worker`: runs the ingest jobs bucket rules make (docs/k3.md). Any number of workers, on
// any machines, share the catalog's jobs; each registers as a node with heartbeats. SIGTERM or
// SIGINT: the job in hand finishes, then it exits 0.

import ArgumentParser
import Dispatch
import Foundation
import KymaBuckets
import KymaCatalog
import KymaRuntime
import Synchronization

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run bucket ingest jobs (rules' pipelines) until stopped; SIGTERM finishes the job in hand.",
        discussion: "Jobs are claimed from the catalog (FOR UPDATE SKIP LOCKED) under a lease the worker renews; a worker that dies loses its lease and another takes the job.")
    @OptionGroup var services: ServiceOptions
    @Option(name: .customLong("lease-seconds"), help: "How long a claimed job is this worker's without renewal.") var leaseSeconds = 60
    @Option(name: .customLong("poll-seconds"), help: "How long to wait for new jobs when there are none.") var pollSeconds = 1.0
    @Flag(help: "Run the jobs that are ready, then exit.") var once = false

    func validate() throws {
        guard leaseSeconds >= 3 else { throw ValidationError("--lease-seconds must be at least 3, got \(leaseSeconds)") }
        guard pollSeconds > 0, pollSeconds <= 60 else { throw ValidationError("--poll-seconds must be in (0, 60], got \(pollSeconds)") }
    }

    func run() async throws {
        let opened = try await services.open()
        let identity = NodeIdentity(id: NodeHeartbeat.makeNodeID(role: .worker), role: .worker, address: "worker")
        let heartbeat: NodeHeartbeat
        do {
            heartbeat = try await NodeHeartbeat.start(identity, catalog: opened.catalog, intervalSeconds: 5)
        } catch {
            printError(error.description)
            throw ExitCode.failure
        }
        defer { heartbeat.stop() }
        let worker = BucketWorker(catalog: opened.catalog, store: opened.store, formats: opened.formats, owner: identity.id, leaseSeconds: leaseSeconds,
                                  environment: ProcessInfo.processInfo.environment, openSource: SourceStores.open,
                                  iceberg: try? await opened.icebergTables())
        let stopping = Atomic(false)
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let sources = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: .global()) }
        for source in sources {
            source.setEventHandler { stopping.store(true, ordering: .relaxed) }
            source.resume()
        }
        printNow("kyma worker \(identity.id) running (lease \(leaseSeconds) s)")
        while !stopping.load(ordering: .relaxed) {
            let outcome: BucketWorker.Outcome?
            do {
                outcome = try await worker.runOnce(nowNanos: { wallClockNanos() })
            } catch {
                // The catalog is unreachable: say so and try again, as the job's lease allows.
                printError(error.description)
                try await Task.sleep(for: .seconds(pollSeconds))
                continue
            }
            switch outcome {
            case .ingested(let job, let rows, let skipped, let replaced, _)?:
                printNow("ingested s3://\(job.bucket)/\(job.key) \(job.etag): \(rows) rows\(skipped > 0 ? ", \(skipped) bad lines skipped" : "")\(replaced > 0 ? ", \(replaced) rows of earlier versions replaced" : "")")
            case .embedded(let job, let chunks, let removed)?:
                printNow("embedded s3://\(job.bucket)/\(job.key) \(job.etag): \(chunks) chunks\(removed > 0 ? ", \(removed) chunks of an earlier version removed" : "")")
            case .appended(let job, let rows, let already)?:
                printNow("appended s3://\(job.bucket)/\(job.key) \(job.etag): \(already ? "already committed by an earlier run" : "\(rows) rows to Iceberg")")
            case .skipped(let job, let reason)?:
                printNow("skipped s3://\(job.bucket)/\(job.key): \(reason)")
            case .failed(let job, let error)?:
                printNow("failed \(job.map { "s3://\($0.bucket)/\($0.key)" } ?? "job"): \(error)")
            case nil:
                if once { return }
                try await Task.sleep(for: .seconds(pollSeconds))
            }
        }
        withExtendedLifetime(sources) {}
        printNow("kyma worker stopped")
    }
}
