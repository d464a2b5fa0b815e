// The object store of a bucket's external source: an S3 client for its endpoint, region,
// bucket and prefix, signed with its own credentials (never this process's), retried as the
// main store is. Used by `kyma worker` to read source objects and by the server's discovery.

import KymaBuckets
import KymaCatalog
import KymaObjectStore
import KymaObjectStoreS3

public enum SourceStores {
    public static func open(_ source: BucketSource) throws(BucketsError) -> any ObjectStore {
        guard source.endpoint.hasPrefix("http://") || source.endpoint.hasPrefix("https://") else {
            throw BucketsError(.source, "source '\(source.name)': endpoint '\(source.endpoint)' is not an http:// or https:// URL")
        }
        var credentials: S3Credentials? = nil
        if let key = source.accessKeyID, let secret = source.secretKey { credentials = S3Credentials(accessKeyID: key, secretAccessKey: secret) }
        let configuration = S3Configuration(endpoint: source.endpoint, region: source.region, bucket: source.remoteBucket, prefix: source.prefix,
                                            credentials: credentials, requestTimeoutMillis: 60_000)
        return RetryingObjectStore(base: S3ObjectStore(configuration), policy: RetryPolicy(maxAttempts: 3))
    }
}
