// Options name one embedder or fail with `.invalidOptions` naming what is wrong; the HTTP
// embedder's endpoint is built from the base URL; an unreachable server is `.unavailable`.

@testable import KymaEmbedding
import KymaTestSupport
import Testing

@Suite("Embedder options")
struct EmbedderOptionsTests {
    @Test func hashingIsTheDefault() throws {
        let embedder = try EmbedderOptions.make([:], environment: [:])
        #expect(embedder.dimension == HashingEmbedder.defaultDimension)
        #expect(try EmbedderOptions.make(["dim": "96"], environment: [:]).dimension == 96)
    }

    @Test(arguments: [
        (["embedder": "word2vec"], "unknown embedder"),
        (["dim": "3"], "option dim"),
        (["dim": "many"], "option dim"),
        (["embedder_url": "http://x"], "needs embedder = openai"),
        (["embedder": "openai"], "embedder_url"),
        (["embedder": "openai", "embedder_url": "ftp://host"], "embedder_url"),
        (["embedder": "openai", "embedder_url": "http://h", "dim": "384"], "option dim"),
        (["embedder": "openai", "embedder_url": "http://h", "embedder_key_env": "KYMA_NO_SUCH_VARIABLE"], "not set"),
    ])
    func badOptionsAreRefusedByName(options: [String: String], mentions: String) {
        do {
            _ = try EmbedderOptions.make(options, environment: [:])
            Issue.record("accepted \(options)")
        } catch {
            #expect(error.kind == .invalidOptions)
            #expect(error.message.contains(mentions), "\(error.message)")
        }
    }

    @Test func aMissingKeyVariableIsOnlyCheckedWhereTheEmbedderRuns() throws {
        let options = ["embedder": "openai", "embedder_url": "http://h", "embedder_key_env": "KYMA_NO_SUCH_VARIABLE"]
        _ = try EmbedderOptions.make(options, environment: nil)
    }

    @Test func theEndpointIsTheBaseURLsEmbeddingsPath() {
        #expect(OpenAIEmbedder(baseURL: "http://127.0.0.1:8080", model: "m").endpoint == "http://127.0.0.1:8080/v1/embeddings")
        #expect(OpenAIEmbedder(baseURL: "http://h/v1/", model: "m").endpoint == "http://h/v1/embeddings")
        #expect(OpenAIEmbedder(baseURL: "http://h/v1/embeddings", model: "m").endpoint == "http://h/v1/embeddings")
    }

    @Test func anUnreachableServerIsUnavailable() async throws {
        // A listener that drops every connection: the server is down.
        let proxy = try TCPProxy(targetPort: 1)
        proxy.cut()
        defer { proxy.stop() }
        var embedder = OpenAIEmbedder(baseURL: "http://127.0.0.1:\(proxy.port)", model: "m")
        embedder.timeoutMillis = 5000
        do {
            _ = try await embedder.embed(["text"])
            Issue.record("a closed port answered")
        } catch {
            #expect(error.kind == .unavailable, "\(error)")
        }
        #expect(try await embedder.embed([]).isEmpty, "no texts, no call")
    }
}
