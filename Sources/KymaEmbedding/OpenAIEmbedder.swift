// A client of the OpenAI-compatible embeddings API: `POST {base}/v1/embeddings` with
// `{"model", "input": [texts]}`, answered by `{"data": [{"index", "embedding": [numbers]}]}`.
// Texts go in batches (servers cap the input count); answers are put back in input order by
// their `index`.

import Foundation
import KymaCore
import KymaHTTP

public struct OpenAIEmbedder: Embedder {
    public let endpoint: String
    public let model: String
    let bearerToken: String?
    public var batchSize = 64
    public var timeoutMillis = 60_000

    public init(baseURL: String, model: String, bearerToken: String? = nil) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.endpoint = base.hasSuffix("/embeddings") ? base : (base.hasSuffix("/v1") ? base + "/embeddings" : base + "/v1/embeddings")
        self.model = model
        self.bearerToken = bearerToken
    }

    public var dimension: Int? { nil }
    public var name: String { model }

    public func embed(_ texts: [String]) async throws(EmbeddingError) -> [[Float]] {
        var out: [[Float]] = []
        out.reserveCapacity(texts.count)
        var start = 0
        while start < texts.count {
            let batch = Array(texts[start..<min(texts.count, start + max(1, batchSize))])
            out += try await request(batch)
            start += batch.count
        }
        if let first = out.first, out.contains(where: { $0.count != first.count }) {
            throw EmbeddingError(.badResponse, "\(endpoint) answered vectors of different lengths")
        }
        return out
    }

    struct Answer: Decodable {
        struct Item: Decodable {
            var index: Int?
            var embedding: [Float]
        }
        var data: [Item]
    }

    func request(_ texts: [String]) async throws(EmbeddingError) -> [[Float]] {
        let body: [UInt8]
        do {
            body = try JSONText.encode(["model": model, "input": texts] as [String: Any])
        } catch {
            throw EmbeddingError(.invalidOptions, "cannot encode the request: \(error)")
        }
        var headers = ["Content-Type": "application/json", "Accept": "application/json"]
        if let bearerToken { headers["Authorization"] = "Bearer " + bearerToken }
        let response: HTTPResponse
        do {
            response = try await BlockingIO.run { [endpoint, timeoutMillis, headers] in
                try HTTPClient.perform(method: "POST", url: endpoint, headers: headers, body: body, sigV4Scope: nil, userPassword: nil,
                                       connectTimeoutMillis: 5000, timeoutMillis: timeoutMillis)
            }
        } catch {
            throw EmbeddingError(.unavailable, "embeddings at \(endpoint): \(error)")
        }
        let snippet = String(decoding: response.body.prefix(300), as: UTF8.self)
        switch response.status {
        case 200..<300: break
        case 429, 500...: throw EmbeddingError(.unavailable, "embeddings at \(endpoint) answered \(response.status): \(snippet)")
        default: throw EmbeddingError(.rejected, "embeddings at \(endpoint) answered \(response.status): \(snippet)")
        }
        let answer: Answer
        do {
            answer = try JSONDecoder().decode(Answer.self, from: Data(response.body))
        } catch {
            throw EmbeddingError(.badResponse, "embeddings at \(endpoint): not an embeddings answer (\(error)): \(snippet)")
        }
        guard answer.data.count == texts.count else {
            throw EmbeddingError(.badResponse, "embeddings at \(endpoint): \(texts.count) inputs, \(answer.data.count) embeddings")
        }
        var vectors = [[Float]?](repeating: nil, count: texts.count)
        for (position, item) in answer.data.enumerated() {
            let index = item.index ?? position
            guard vectors.indices.contains(index), vectors[index] == nil else {
                throw EmbeddingError(.badResponse, "embeddings at \(endpoint): index \(index) is out of range or repeated")
            }
            guard !item.embedding.isEmpty, item.embedding.allSatisfy(\.isFinite) else {
                throw EmbeddingError(.badResponse, "embeddings at \(endpoint): embedding \(index) is empty or not finite")
            }
            vectors[index] = item.embedding
        }
        return vectors.map { $0 ?? [] }
    }
}
