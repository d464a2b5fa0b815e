// SigV4 against signatures botocore computes for the same requests (the GET and presigned
// examples are also the AWS documentation's: "Signature Calculations for the Authorization
// Header" and "Authenticating Requests: Using Query Parameters").

import KymaCore
import KymaS3
import Testing

@Suite struct SigV4Tests {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    func verify(method: String, path: String, query: [(String, String)], headers: [String: String], payloadHash: String) throws -> Bool {
        guard let claim = try SigV4.claim(authorization: headers["authorization"], amzDate: headers["x-amz-date"], query: query) else { return false }
        let canonical = SigV4.canonicalRequest(method: method, path: path, query: query, headers: headers,
                                               signedHeaders: claim.signedHeaders, payloadHash: payloadHash)
        let key = SigV4.signingKey(secret: Self.secret, claim: claim)
        return SigV4.same(SigV4.sign(SigV4.stringToSign(claim: claim, canonicalRequest: canonical), key: key), claim.signature)
    }

    @Test func headerSignatureOfAGetWithRange() throws {
        let headers = [
            "host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9", "x-amz-date": "20130524T000000Z",
            "x-amz-content-sha256": SigV4.emptyHash,
            "authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        ]
        #expect(try verify(method: "GET", path: "/test.txt", query: [], headers: headers, payloadHash: SigV4.emptyHash))
        // One changed byte of a signed header, or a different method, breaks it.
        var tampered = headers
        tampered["range"] = "bytes=0-8"
        #expect(try !verify(method: "GET", path: "/test.txt", query: [], headers: tampered, payloadHash: SigV4.emptyHash))
        #expect(try !verify(method: "HEAD", path: "/test.txt", query: [], headers: headers, payloadHash: SigV4.emptyHash))
    }

    @Test func headerSignatureWithAnEncodedKeyAndAQuery() throws {
        // Path "/my-bucket/dir/a b+c.txt" as decoded, query values decoded: canonical form
        // re-encodes both the S3 way ('/' kept in the path, encoded in the query).
        let headers = [
            "host": "127.0.0.1:7879", "x-amz-date": "20130524T000000Z", "x-amz-content-sha256": SigV4.emptyHash,
            "authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0443fb93b5795c37a93e8a3c7c7d36b319f338a5a9947622aa215d52062bb05a",
        ]
        let query = [("list-type", "2"), ("prefix", "a/b"), ("delimiter", "/")]
        #expect(try verify(method: "GET", path: "/my-bucket/dir/a b+c.txt", query: query, headers: headers, payloadHash: SigV4.emptyHash))
        #expect(try !verify(method: "GET", path: "/my-bucket/dir/a b+c.txt", query: [("list-type", "2"), ("prefix", "a/c"), ("delimiter", "/")],
                            headers: headers, payloadHash: SigV4.emptyHash))
    }

    @Test func presignedURL() throws {
        let query = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"),
            ("X-Amz-Date", "20130524T000000Z"), ("X-Amz-Expires", "86400"), ("X-Amz-SignedHeaders", "host"),
            ("X-Amz-Signature", "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"),
        ]
        let headers = ["host": "examplebucket.s3.amazonaws.com"]
        #expect(try verify(method: "GET", path: "/test.txt", query: query, headers: headers, payloadHash: "UNSIGNED-PAYLOAD"))
        let claim = try #require(try SigV4.claim(authorization: nil, amzDate: nil, query: query))
        #expect(claim.expires == 86400)
        #expect(claim.accessKey == "AKIAIOSFODNN7EXAMPLE")
        #expect(try !verify(method: "GET", path: "/test.txt", query: query, headers: ["host": "other.example"], payloadHash: "UNSIGNED-PAYLOAD"))
    }

    @Test func malformedClaimsAreTypedErrors() {
        #expect(throws: S3Error.self) { try SigV4.claim(authorization: "AWS AKIA:abc", amzDate: nil, query: []) }
        #expect(throws: S3Error.self) {
            try SigV4.claim(authorization: "AWS4-HMAC-SHA256 Credential=AKIA/20130524/us-east-1/s3/aws4_request, Signature=ab", amzDate: "20130524T000000Z", query: [])
        }
        // The credential's day must be the request's.
        #expect(throws: S3Error.self) {
            try SigV4.claim(authorization: "AWS4-HMAC-SHA256 Credential=AKIA/20130525/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab",
                            amzDate: "20130524T000000Z", query: [])
        }
        #expect(throws: S3Error.self) {
            try SigV4.claim(authorization: nil, amzDate: nil, query: [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Expires", "999999")])
        }
        // No signature at all is not an error here: the server decides about anonymous access.
        #expect(throws: Never.self) { _ = try SigV4.claim(authorization: nil, amzDate: nil, query: []) }
    }

    @Test func timestamps() {
        #expect(SigV4.seconds("20130524T000000Z") == 1_369_353_600)
        #expect(SigV4.seconds("20130230T000000Z") == nil)
        #expect(SigV4.seconds("2013-05-24T00:00:00Z") == nil)
    }

    @Test func encodingIsTheUnreservedSet() {
        #expect(SigV4.encode("a b/c~d_e.f-g+h*") == "a%20b%2Fc~d_e.f-g%2Bh%2A")
        #expect(SigV4.encode("é") == "%C3%A9")
    }
}
