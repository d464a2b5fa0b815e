// Routes for operators and browsers, all public:
//   GET /health        the process answers
//   GET /readyz        the catalog and the object store answer (each within 2 s), else 503
//   GET /metrics       Prometheus text
//   GET /openapi.yaml  the spec of every route (docs/openapi.yaml; a test keeps it true)
//   GET /              the web console (Resources/console: plain HTML, JS and CSS)

import Foundation
import HTTPTypes
import Hummingbird
import KymaCore
import KymaObjectStore
import NIOCore

/// The files served as they are, read once at start from the module's resources.
enum StaticFiles {
    static let directory: String? = Bundle.module.url(forResource: "Resources", withExtension: nil)?.path

    static let files: [String: (type: String, bytes: [UInt8])] = {
        guard let directory else { return [:] }
        let types = ["html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
                     "yaml": "application/yaml", "svg": "image/svg+xml"]
        var files: [String: (String, [UInt8])] = [:]
        for relative in ["openapi.yaml", "console/index.html", "console/console.js", "console/console.css"] {
            guard let data = FileManager.default.contents(atPath: directory + "/" + relative) else { continue }
            let type = types[String(relative.split(separator: ".").last ?? "")] ?? "application/octet-stream"
            files[relative] = (type, Array(data))
        }
        return files
    }()

    static func response(_ name: String) throws(ServerError) -> Response {
        guard let file = files[name] else { throw ServerError(.notFound, "no file '\(name)' (this build has no \(name) resource)") }
        var headers = HTTPFields()
        headers[.contentType] = file.type
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes)))
    }
}

struct OperationRoutes {
    let state: ServerState

    func register(_ router: RouteTable) {
        router.get("/health") { _, _ in JSONResponse.ok("{\"status\":\"ok\",\"node\":\(JSONText.quote(state.node.id))}") }
        router.get("/readyz") { _, _ in try await ready() }
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            let text = state.metrics.render(cache: state.cacheStatistics)
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/openapi.yaml") { _, _ in try StaticFiles.response("openapi.yaml") }
        router.get("/") { _, _ in try StaticFiles.response("console/index.html") }
        router.get("/console/:file") { _, context in
            let name = try PathParameter.name(context, "file")
            guard ["console.js", "console.css", "index.html"].contains(name) else { throw ServerError(.notFound, "no console file '\(name)'") }
            return try StaticFiles.response("console/" + name)
        }
    }

    /// Ready when the catalog and the store each answer within two seconds.
    func ready() async throws -> Response {
        let catalog = state.services.catalog
        let store = state.services.store
        async let catalogCheck = probe { _ = try await catalog.table(named: "kyma-readiness-probe") }
        async let storeCheck = probe { _ = try await store.list(prefix: "kyma-readiness-probe/", pageToken: nil, maxKeys: 1) }
        let (catalogError, storeError) = await (catalogCheck, storeCheck)
        let body = "{\"ready\":\(catalogError == nil && storeError == nil),\"catalog\":\(catalogError.map(JSONText.quote) ?? "\"ok\""),"
            + "\"store\":\(storeError.map(JSONText.quote) ?? "\"ok\"")}"
        return JSONResponse.make(catalogError == nil && storeError == nil ? .ok : .serviceUnavailable, body)
    }

    /// nil when `check` finished within two seconds, else why not.
    func probe(_ check: @escaping @Sendable () async throws -> Void) async -> String? {
        await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do { try await check(); return nil } catch { return "\(error)" }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(2))
                return "no answer within 2 s"
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
