// AWS Signature Version 4, verified (the server side of what S3 clients sign): header auth
// (`Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`), presigned
// URLs (`X-Amz-Algorithm`... in the query, with an expiry), and the chained signatures of
// `aws-chunked` bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD). Pure functions over the request's
// parts; the caller looks up the secret of the access key.
//
//   canonical request = METHOD \n URI \n QUERY \n HEADERS \n SIGNED-HEADERS \n PAYLOAD-HASH
//   string to sign    = AWS4-HMAC-SHA256 \n DATE \n SCOPE \n hex(SHA256(canonical request))
//   signing key       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, yyyymmdd), region), "s3"), "aws4_request")

import KymaCore
import KymaKernels

/// What a request claims about its signature, read from its header or query.
public struct SigV4Claim: Sendable, Hashable {
    public var accessKey: String
    /// yyyymmdd of the credential scope.
    public var date: String
    public var region: String
    public var service: String
    public var signedHeaders: [String]
    public var signature: String
    /// The request time, `yyyymmddThhmmssZ` (X-Amz-Date).
    public var timestamp: String
    /// Presigned URLs: seconds from `timestamp` the URL stays valid.
    public var expires: Int?

    public var scope: String { "\(date)/\(region)/\(service)/aws4_request" }

    public init(accessKey: String, date: String, region: String, service: String, signedHeaders: [String], signature: String,
                timestamp: String, expires: Int?) {
        self.accessKey = accessKey
        self.date = date
        self.region = region
        self.service = service
        self.signedHeaders = signedHeaders
        self.signature = signature
        self.timestamp = timestamp
        self.expires = expires
    }
}

public enum SigV4 {
    /// The claim of a request signed in its Authorization header, or in its query (presigned);
    /// nil when it carries neither; `.invalidSignatureFormat` when it is malformed.
    public static func claim(authorization: String?, amzDate: String?, query: [(String, String)]) throws(S3Error) -> SigV4Claim? {
        if let authorization {
            guard authorization.hasPrefix("AWS4-HMAC-SHA256 ") else {
                throw S3Error(.invalidArgument, "only AWS4-HMAC-SHA256 signatures are accepted")
            }
            var fields: [String: String] = [:]
            for part in authorization.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
                let pair = part.trimmingSpaces.split(separator: "=", maxSplits: 1)
                if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
            }
            guard let credential = fields["Credential"], let signed = fields["SignedHeaders"], let signature = fields["Signature"],
                  let amzDate else {
                throw S3Error(.authorizationHeaderMalformed, "the Authorization header needs Credential, SignedHeaders and Signature, and X-Amz-Date")
            }
            return try make(credential: credential, signedHeaders: signed, signature: signature, timestamp: amzDate, expires: nil)
        }
        let values = Dictionary(query, uniquingKeysWith: { first, _ in first })
        guard let algorithm = values["X-Amz-Algorithm"] else { return nil }
        guard algorithm == "AWS4-HMAC-SHA256" else { throw S3Error(.invalidArgument, "X-Amz-Algorithm must be AWS4-HMAC-SHA256") }
        guard let credential = values["X-Amz-Credential"], let signed = values["X-Amz-SignedHeaders"], let signature = values["X-Amz-Signature"],
              let timestamp = values["X-Amz-Date"], let expires = values["X-Amz-Expires"].flatMap({ Int($0) }), expires >= 1, expires <= 604_800 else {
            throw S3Error(.authorizationQueryParametersError, "a presigned URL needs X-Amz-Credential, -SignedHeaders, -Signature, -Date and -Expires (1 to 604800)")
        }
        return try make(credential: credential, signedHeaders: signed, signature: signature, timestamp: timestamp, expires: expires)
    }

    static func make(credential: String, signedHeaders: String, signature: String, timestamp: String, expires: Int?) throws(S3Error) -> SigV4Claim {
        let parts = credential.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[4] == "aws4_request", parts[1].count == 8, timestamp.count == 16, timestamp.hasPrefix(parts[1]) else {
            throw S3Error(.authorizationHeaderMalformed, "the credential must be KEY/yyyymmdd/region/s3/aws4_request, dated as X-Amz-Date")
        }
        return SigV4Claim(accessKey: String(parts[0]), date: String(parts[1]), region: String(parts[2]), service: String(parts[3]),
                          signedHeaders: signedHeaders.split(separator: ";").map(String.init), signature: signature.lowercased(),
                          timestamp: timestamp, expires: expires)
    }

    /// The signing key of `secret` for the claim's day, region and service.
    public static func signingKey(secret: String, claim: SigV4Claim) -> [UInt8] {
        var key = HMACSHA256.authenticate(Array(claim.date.utf8), key: Array(("AWS4" + secret).utf8))
        key = HMACSHA256.authenticate(Array(claim.region.utf8), key: key)
        key = HMACSHA256.authenticate(Array(claim.service.utf8), key: key)
        return HMACSHA256.authenticate(Array("aws4_request".utf8), key: key)
    }

    /// The canonical request of the S3 flavour: the path's segments encoded once, the query's
    /// pairs sorted (the signature itself left out of a presigned one), the signed headers'
    /// values trimmed with inner runs of spaces folded.
    public static func canonicalRequest(method: String, path: String, query: [(String, String)], headers: [String: String],
                                        signedHeaders: [String], payloadHash: String) -> String {
        let uri = path.split(separator: "/", omittingEmptySubsequences: false).map { encode(String($0)) }.joined(separator: "/")
        var pairs: [(name: String, value: String)] = []
        for (name, value) in query where name != "X-Amz-Signature" { pairs.append((encode(name), encode(value))) }
        pairs.sort { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
        let canonicalQuery = pairs.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
        let canonicalHeaders = signedHeaders.map { name in "\(name):\(foldSpaces(headers[name] ?? ""))\n" }.joined()
        return [method, uri.isEmpty ? "/" : uri, canonicalQuery, canonicalHeaders, signedHeaders.joined(separator: ";"), payloadHash].joined(separator: "\n")
    }

    public static func stringToSign(claim: SigV4Claim, canonicalRequest: String) -> String {
        "AWS4-HMAC-SHA256\n\(claim.timestamp)\n\(claim.scope)\n" + SHA256.hexDigest(Array(canonicalRequest.utf8))
    }

    /// The signature over `stringToSign` with `key`, in hex.
    public static func sign(_ stringToSign: String, key: [UInt8]) -> String {
        Hex.encode(HMACSHA256.authenticate(Array(stringToSign.utf8), key: key))
    }

    /// The signature of one `aws-chunked` chunk, chained to the previous one's.
    public static func chunkSignature(claim: SigV4Claim, key: [UInt8], previous: String, chunk: ArraySlice<UInt8>) -> String {
        let text = "AWS4-HMAC-SHA256-PAYLOAD\n\(claim.timestamp)\n\(claim.scope)\n\(previous)\n" + emptyHash + "\n" + chunk.withUnsafeBytes { Hex.encode(DigestKernels.sha256($0)) }
        return sign(text, key: key)
    }

    /// Compares two signatures without an early exit.
    public static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }

    public static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Percent-encoding of SigV4: every byte but A-Z a-z 0-9 - . _ ~ as %XX (uppercase hex).
    public static func encode(_ text: String) -> String {
        var out: [UInt8] = []
        let digits = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func foldSpaces(_ value: String) -> String {
        var out = ""
        var lastSpace = false
        for c in value.trimmingSpaces {
            if c == " " || c == "\t" {
                if !lastSpace { out.append(" ") }
                lastSpace = true
            } else {
                out.append(c)
                lastSpace = false
            }
        }
        return out
    }

    /// Seconds since the epoch of a `yyyymmddThhmmssZ` time; nil when malformed.
    public static func seconds(_ timestamp: String) -> Int64? {
        let b = Array(timestamp.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var v: Int64 = 0
            for i in range {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                v = v * 10 + Int64(b[i] - 0x30)
            }
            return v
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8), let hour = number(9..<11),
              let minute = number(11..<13), let second = number(13..<15), (1...12).contains(month),
              (1...CivilDate.daysInMonth(year: year, month: month)).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        return CivilDate.days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
