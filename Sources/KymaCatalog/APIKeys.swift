// API keys of the HTTP server: who may call it, with which role, on which tables. The catalog
// stores a key's id, role, table scope and the SHA-256 of its secret; the secret itself is
// shown once, when the key is made, and never stored or logged.
//
// A token is `kyma_<id>_<secret>`: the id (12 hex digits) finds the record, the secret (64 hex
// digits, 256 random bits) proves possession. Tokens are compared by hash in constant time.

import KymaCore

/// What a key may do. Each role includes the ones before it.
public enum APIKeyRole: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Queries, explain, describing tables and collections, vector search.
    case read
    /// Also ingest (NDJSON, `_bulk`, OTLP) and vector upserts and deletes.
    case write
    /// Also creating, dropping and compacting tables and collections.
    case admin

    public static func < (a: APIKeyRole, b: APIKeyRole) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A key as the catalog records it (never its secret).
public struct APIKeyRecord: Sendable, Hashable, Codable {
    public var id: String
    public var name: String
    public var role: APIKeyRole
    /// The tables (and vector collections) the key may touch; nil: every one.
    public var tables: [String]?
    public var createdAtMillis: Int64
    public var revoked: Bool

    public init(id: String, name: String, role: APIKeyRole, tables: [String]?, createdAtMillis: Int64 = 0, revoked: Bool = false) {
        self.id = id
        self.name = name
        self.role = role
        self.tables = tables
        self.createdAtMillis = createdAtMillis
        self.revoked = revoked
    }

    /// Whether the key's scope covers `table` (a table or collection name).
    public func covers(_ table: String) -> Bool {
        tables.map { $0.contains(table) } ?? true
    }
}

/// A newly made key: its record and the token, shown once.
public struct APIKeyToken: Sendable {
    public var record: APIKeyRecord
    public var token: String
    /// What the catalog stores: the SHA-256 of the secret, in hex.
    public var secretHash: String

    /// A new key with 256 random bits of secret from the system's random source.
    public static func generate(name: String, role: APIKeyRole, tables: [String]?) -> APIKeyToken {
        let id = randomHex(bytes: 6)
        let secret = randomHex(bytes: 32)
        return APIKeyToken(record: APIKeyRecord(id: id, name: name, role: role, tables: tables),
                           token: "kyma_\(id)_\(secret)", secretHash: SHA256.hexDigest(Array(secret.utf8)))
    }

    /// The id and secret of a token, if it has the token's shape.
    public static func parse(_ token: String) -> (id: String, secret: String)? {
        let parts = token.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "kyma", parts[1].utf8.count == 12, parts[2].utf8.count == 64,
              (parts[1] + parts[2]).utf8.allSatisfy(isHexDigit) else { return nil }
        return (String(parts[1]), String(parts[2]))
    }

    /// Whether `secret` hashes to `secretHash`, compared without an early exit.
    public static func matches(secret: String, secretHash: String) -> Bool {
        let computed = Array(SHA256.hexDigest(Array(secret.utf8)).utf8)
        let stored = Array(secretHash.utf8)
        guard computed.count == stored.count else { return false }
        var difference: UInt8 = 0
        for i in computed.indices { difference |= computed[i] ^ stored[i] }
        return difference == 0
    }

    /// S3 credentials for a key: an access key id (`KYMA` and the key's id, uppercase) and a
    /// 40-character secret, as S3 clients expect them.
    public static func s3Credentials(for record: APIKeyRecord) -> (accessKey: String, secret: String) {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var generator = SystemRandomNumberGenerator()
        let secret = String(decoding: (0..<40).map { _ in alphabet[Int.random(in: 0..<64, using: &generator)] }, as: UTF8.self)
        return ("KYMA" + record.id.uppercased(), secret)
    }

    static func isHexDigit(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f"))
    }

    /// `count` random bytes as hex, from the system's cryptographically secure generator
    /// (getrandom on Linux).
    static func randomHex(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for _ in 0..<count {
            let byte = UInt8.random(in: 0...255, using: &generator)
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
