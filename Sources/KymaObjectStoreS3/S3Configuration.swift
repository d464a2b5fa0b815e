// Where an S3 store lives and how to sign for it.

#if canImport(Glibc)
import Glibc
#endif
import KymaObjectStore

/// AWS credentials. Secrets are never printed (`description` redacts them).
public struct S3Credentials: Sendable, Hashable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// From `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, when the first
    /// two are set.
    public static func fromEnvironment() -> S3Credentials? {
        guard let key = environment("AWS_ACCESS_KEY_ID"), let secret = environment("AWS_SECRET_ACCESS_KEY") else { return nil }
        return S3Credentials(accessKeyID: key, secretAccessKey: secret, sessionToken: environment("AWS_SESSION_TOKEN"))
    }

    public var description: String { "S3Credentials(accessKeyID: \(accessKeyID), secretAccessKey: REDACTED)" }
}

func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    let text = String(cString: value)
    return text.isEmpty ? nil : text
}

/// The location of an S3 store: endpoint, region, bucket and a key prefix inside the bucket.
public struct S3Configuration: Sendable, Hashable {
    /// `scheme://host[:port]`, e.g. `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:9000`.
    public var endpoint: String
    public var region: String
    public var bucket: String
    /// Prepended to every key (`prefix/key`); empty for the bucket root.
    public var prefix: String
    /// Path-style (`endpoint/bucket/key`) or virtual-host style (`bucket.host/key`) addressing.
    public var pathStyle: Bool
    /// nil sends unsigned (anonymous) requests.
    public var credentials: S3Credentials?
    public var connectTimeoutMillis: Int
    /// The whole of one request, however fast its bytes flow.
    public var requestTimeoutMillis: Int
    /// A request whose transfer moves no byte for this long is abandoned (the read timeout).
    public var stallTimeoutMillis: Int

    /// Retries are not here: one attempt per call, wrapped in a `RetryingObjectStore`.
    public init(
        endpoint: String, region: String? = nil, bucket: String, prefix: String = "", pathStyle: Bool = true,
        credentials: S3Credentials? = S3Credentials.fromEnvironment(), connectTimeoutMillis: Int = 5_000,
        requestTimeoutMillis: Int = 120_000, stallTimeoutMillis: Int = 15_000
    ) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.region = region ?? environment("AWS_REGION") ?? environment("AWS_DEFAULT_REGION") ?? "us-east-1"
        self.bucket = bucket
        self.prefix = prefix.trimmingSlashes()
        self.pathStyle = pathStyle
        self.credentials = credentials
        self.connectTimeoutMillis = connectTimeoutMillis
        self.requestTimeoutMillis = requestTimeoutMillis
        self.stallTimeoutMillis = stallTimeoutMillis
    }
}

extension String {
    func trimmingSlashes() -> String {
        var text = Substring(self)
        while text.hasPrefix("/") { text = text.dropFirst() }
        while text.hasSuffix("/") { text = text.dropLast() }
        return String(text)
    }
}
