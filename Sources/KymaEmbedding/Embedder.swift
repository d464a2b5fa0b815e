// KymaEmbedding: text to vectors, behind one protocol. Two implementations: a deterministic
// hashing embedder (offline, the default, what tests use) and a client of the OpenAI-compatible
// `POST /v1/embeddings` API (any server speaking it: a local sentence-transformers model, a
// hosted service). Pipelines embed chunks with it; search embeds the query text with the same one.

/// Turns texts into vectors.
///
/// Contract:
/// - `embed` MUST return exactly one vector per input text, in input order, each of
///   `dimension` components, all finite. An empty input MUST return an empty answer without
///   any remote call.
/// - The same text MUST give the same vector for the life of the embedder's configuration
///   (a collection's stored vectors and its query vectors come from one embedder).
/// - Failures are `EmbeddingError`s; a transport failure or a 5xx is `.unavailable` (worth a
///   retry by the caller); an answer that breaks the contract is `.badResponse`.
/// - Implementations are `Sendable` values; `embed` MAY be called concurrently.
public protocol Embedder: Sendable {
    /// Components per vector. For a remote model it is known after the first answer; until then
    /// nil.
    var dimension: Int? { get }
    /// A name for reports and payloads (`hashing-384`, the remote model's name).
    var name: String { get }
    func embed(_ texts: [String]) async throws(EmbeddingError) -> [[Float]]
}

public struct EmbeddingError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The embedder's options are wrong (unknown embedder, missing URL, bad dimension).
        case invalidOptions
        /// The remote service could not be reached, timed out or answered 5xx/429.
        case unavailable
        /// The remote service refused the request (4xx other than 429).
        case rejected
        /// The answer is not what the API promises (not JSON, wrong count, wrong dimension).
        case badResponse
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// The embedder named by pipeline options:
///   embedder        hashing | openai (default hashing)
///   dim             hashing only: components, 8...4096 (default 384)
///   embedder_url    openai only: the base URL; `/v1/embeddings` is appended unless it ends so
///   embedder_model  openai only: the `model` sent (default all-MiniLM-L6-v2)
///   embedder_key_env openai only: an environment variable holding a bearer token (the token
///                   itself is never stored in the catalog)
public enum EmbedderOptions {
    public static let keys: Set<String> = ["embedder", "dim", "embedder_url", "embedder_model", "embedder_key_env"]

    /// The embedder the options name. `environment` is where `embedder_key_env` is looked up;
    /// nil checks the options only (when a rule is made, away from the worker that runs it).
    public static func make(_ options: [String: String], environment: [String: String]?) throws(EmbeddingError) -> any Embedder {
        switch options["embedder"] ?? "hashing" {
        case "hashing":
            for key in ["embedder_url", "embedder_model", "embedder_key_env"] where options[key] != nil {
                throw EmbeddingError(.invalidOptions, "option \(key) needs embedder = openai; the embedder is hashing")
            }
            var dimension = HashingEmbedder.defaultDimension
            if let text = options["dim"] {
                guard let value = Int(text), (8...4096).contains(value) else {
                    throw EmbeddingError(.invalidOptions, "option dim must be a whole number in 8...4096; got '\(text)'")
                }
                dimension = value
            }
            return HashingEmbedder(dimension: dimension)
        case "openai":
            if options["dim"] != nil { throw EmbeddingError(.invalidOptions, "option dim is the model's own with embedder = openai; leave it out") }
            guard let url = options["embedder_url"], url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw EmbeddingError(.invalidOptions, "embedder = openai needs option embedder_url (an http:// or https:// URL)")
            }
            var token: String? = nil
            if let variable = options["embedder_key_env"], let environment {
                guard let value = environment[variable], !value.isEmpty else {
                    throw EmbeddingError(.invalidOptions, "option embedder_key_env names \(variable), which is not set in this process's environment")
                }
                token = value
            }
            return OpenAIEmbedder(baseURL: url, model: options["embedder_model"] ?? "all-MiniLM-L6-v2", bearerToken: token)
        case let other:
            throw EmbeddingError(.invalidOptions, "unknown embedder '\(other)' (hashing or openai)")
        }
    }
}
