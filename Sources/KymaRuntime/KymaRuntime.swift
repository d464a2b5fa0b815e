// KymaRuntime: the composition root. It resolves where the catalog and the object store are
// (flags, environment, kyma.toml, dev services), opens the concrete implementations behind the
// `Catalog` and `ObjectStore` protocols, keeps this node's identity and heartbeat, and checks
// the CPU at start. Engine modules never import it; executables and the server do.

import KymaCatalog
import KymaCatalogPostgres
import KymaFormat
import KymaFormatParquet
import KymaFormatTLM
import KymaIceberg
import KymaIcebergCatalogs
import KymaKQL
import KymaExec
import KymaExtentSource
import KymaPlan
import KymaSQL
import KymaQueryService
import KymaObjectStore
import KymaObjectStoreCache
import KymaObjectStoreLocal
import KymaObjectStoreS3

/// The opened services a command works with.
public struct KymaServices: Sendable {
    public var configuration: KymaConfiguration
    public var catalog: any Catalog
    /// The store as commands should use it: the cache in front of the source when a cache is
    /// configured.
    public var store: any ObjectStore
    /// The durable store behind any cache.
    public var sourceStore: any ObjectStore
    /// Every segment format this binary reads and writes.
    public var formats: FormatRegistry = KymaServices.allFormats

    /// The composition root's list of formats: the only place format implementations are named.
    public static let allFormats = FormatRegistry([TLMFormat(), ParquetFormat()])

    /// The composition root's list of query languages: the only place frontends are named.
    public static let frontends = FrontendRegistry([KQLFrontend(), SQLFrontend()])

    /// Iceberg tables in the chosen Iceberg catalog (default: the SQL catalog in this catalog's
    /// PostgreSQL database), with files in the configured store (the durable store: Iceberg's
    /// files are read by other tools, which know nothing of the cache).
    public func icebergTables(_ settings: IcebergCatalogSettings = IcebergCatalogSettings()) async throws(RuntimeError) -> IcebergTables {
        let chosen: any IcebergTableCatalog
        switch settings.kind {
        case .sql:
            guard let catalog = catalog as? any IcebergTableCatalog else {
                throw .invalidConfiguration(key: "catalog", reason: "this catalog has no Iceberg SQL catalog")
            }
            chosen = catalog
        case .rest:
            guard let url = settings.restURL else {
                throw .missingConfiguration("the REST catalog needs --rest-uri or KYMA_ICEBERG_REST_URL")
            }
            do { chosen = try await RESTIcebergCatalog.connect(url: url, token: settings.restToken) } catch {
                throw .catalogUnavailable(url: url, source: "iceberg REST catalog", reason: error.description)
            }
        case .glue:
            guard let endpoint = settings.glueEndpoint else {
                throw .missingConfiguration("the Glue catalog needs --glue-endpoint or KYMA_GLUE_ENDPOINT")
            }
            guard let key = settings.accessKeyID, let secret = settings.secretAccessKey else {
                throw .missingConfiguration("the Glue catalog needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
            }
            chosen = GlueIcebergCatalog(endpoint: endpoint, region: settings.glueRegion, accessKeyID: key, secretAccessKey: secret)
        }
        return IcebergTables(catalog: chosen, store: sourceStore, storeURI: icebergStoreURI)
    }

    /// The Iceberg REST catalog `kyma serve` answers: Kyma's SQL catalog with its files in the
    /// durable store; loaded tables tell clients the store's S3 endpoint when it is S3.
    public func icebergRESTService() throws(RuntimeError) -> IcebergRESTService {
        guard let catalog = catalog as? any IcebergNamespaceCatalog else {
            throw .invalidConfiguration(key: "catalog", reason: "this catalog has no Iceberg SQL catalog")
        }
        var config: [String: String] = [:]
        if case .s3(let s3) = configuration.store.value {
            config = ["s3.endpoint": s3.endpoint, "s3.region": s3.region, "s3.path-style-access": s3.pathStyle ? "true" : "false"]
        }
        return IcebergRESTService(catalog: catalog, tables: IcebergTables(catalog: catalog, store: sourceStore, storeURI: icebergStoreURI),
                                  tableConfig: config)
    }

    /// How the durable store's keys appear as URIs to other tools.
    public var icebergStoreURI: String {
        let uri: String
        switch configuration.store.value {
        case .local(let path): uri = "file://" + path
        case .s3(let s3): uri = "s3://\(s3.bucket)/" + (s3.prefix.isEmpty ? "" : s3.prefix.hasSuffix("/") ? s3.prefix : s3.prefix + "/")
        }
        return uri
    }

    /// The query service over this node's tables: the catalog's extents read through the
    /// store (footers cached in memory, in `footers`), in every language this binary has.
    public func queryService(footers: FooterCache = FooterCache(), scanner: (any UnitScanner)? = nil) -> QueryService {
        QueryService(frontends: Self.frontends, sources: CatalogTableSources(catalog: catalog, readers: readers(footers: footers)), scanner: scanner)
    }

    /// Readers of any extent through this node's store (and cache), footers kept in `footers`:
    /// what the query service and the leaf service read with.
    public func readers(footers: FooterCache) -> ExtentReaderProvider {
        ExtentReaderProvider(store: store, formats: formats, footers: footers)
    }

    /// Opens the catalog (applying migrations) and the object store named by `configuration`.
    /// A catalog that cannot be reached is a `RuntimeError.catalogUnavailable` naming the URL.
    public static func open(_ configuration: KymaConfiguration) async throws(RuntimeError) -> KymaServices {
        let catalog: PostgresCatalog
        do {
            catalog = try await PostgresCatalog(url: configuration.catalogURL.value)
        } catch {
            var reason = error.description
            if case .cannotConnect(_, let why) = error { reason = why }
            throw .catalogUnavailable(url: PostgresCatalog.redact(configuration.catalogURL.value),
                                      source: configuration.catalogURL.source, reason: reason)
        }
        var source = try await openStore(configuration.store)
        if let throttle = configuration.storeThrottle { source = ThrottledObjectStore(base: source, throttle: throttle) }
        var store: any ObjectStore = source
        if let cacheDirectory = configuration.cacheDirectory {
            do {
                let cacheStore = try LocalFileSystemObjectStore(root: cacheDirectory)
                store = await CachingObjectStore(source: source, cache: cacheStore, capacityBytes: configuration.cacheCapacityBytes)
            } catch {
                throw .invalidConfiguration(key: "cache directory", reason: "\(error)")
            }
        }
        return KymaServices(configuration: configuration, catalog: catalog, store: store, sourceStore: source)
    }

    static func openStore(_ location: Sourced<StoreLocation>) async throws(RuntimeError) -> any ObjectStore {
        switch location.value {
        case .local(let path):
            do {
                return try LocalFileSystemObjectStore(root: path)
            } catch {
                throw .storeUnavailable(store: location.value.description, source: location.source, reason: "\(error)")
            }
        case .s3(let configuration):
            return RetryingObjectStore(base: S3ObjectStore(configuration))
        }
    }
}
