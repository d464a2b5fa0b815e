// Which Iceberg catalog `kyma iceberg` (and k2i) commits to: the SQL catalog in the dev
// PostgreSQL (default), a REST catalog server, or AWS Glue. Flags win over the environment.

import Foundation

public struct IcebergCatalogSettings: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable { case sql, rest, glue }

    public var kind: Kind = .sql
    public var restURL: String?
    public var restToken: String?
    public var glueEndpoint: String?
    public var glueRegion = "us-east-1"
    public var accessKeyID: String?
    public var secretAccessKey: String?

    public init() {}

    /// From flags (nil: not given), then `KYMA_ICEBERG_CATALOG`, `KYMA_ICEBERG_REST_URL`,
    /// `KYMA_ICEBERG_REST_TOKEN`, `KYMA_GLUE_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`.
    public static func resolve(kind: String?, restURL: String?, glueEndpoint: String?, glueRegion: String?,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws(RuntimeError) -> IcebergCatalogSettings {
        var settings = IcebergCatalogSettings()
        let kindText = kind ?? environment["KYMA_ICEBERG_CATALOG"] ?? "sql"
        guard let parsed = Kind(rawValue: kindText) else {
            throw .invalidConfiguration(key: "iceberg-catalog", reason: "'\(kindText)' is not one of sql, rest, glue")
        }
        settings.kind = parsed
        settings.restURL = restURL ?? environment["KYMA_ICEBERG_REST_URL"]
        settings.restToken = environment["KYMA_ICEBERG_REST_TOKEN"]
        settings.glueEndpoint = glueEndpoint ?? environment["KYMA_GLUE_ENDPOINT"]
        settings.glueRegion = glueRegion ?? environment["AWS_REGION"] ?? "us-east-1"
        settings.accessKeyID = environment["AWS_ACCESS_KEY_ID"]
        settings.secretAccessKey = environment["AWS_SECRET_ACCESS_KEY"]
        return settings
    }
}
