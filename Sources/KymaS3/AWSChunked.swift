// `Content-Encoding: aws-chunked` bodies: the payload in chunks, each `hex-size[;chunk-signature=
// sig]\r\n data \r\n`, ended by a chunk of size 0 and, with a trailer, lines `name:value` (the
// checksum the client computed while sending). Signed chunks chain their signatures from the
// request's (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]); unsigned ones carry none
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER).

public struct DecodedBody: Sendable {
    public var payload: [UInt8]
    /// Trailing headers, lowercased names.
    public var trailers: [String: String]
}

public enum AWSChunked {
    /// Chunk signatures to verify: the claim, its signing key and the request's signature.
    public struct Chain: Sendable {
        public var claim: SigV4Claim
        public var key: [UInt8]
        public var seed: String

        public init(claim: SigV4Claim, key: [UInt8], seed: String) {
            self.claim = claim
            self.key = key
            self.seed = seed
        }
    }

    /// The payload of `body`; chunks are checked against `chain` when given.
    public static func decode(_ body: [UInt8], chain: Chain?, decodedLength: Int?) throws(S3Error) -> DecodedBody {
        var payload: [UInt8] = []
        payload.reserveCapacity(decodedLength ?? body.count)
        var trailers: [String: String] = [:]
        var i = 0
        var previous = chain?.seed ?? ""
        func line() throws(S3Error) -> ArraySlice<UInt8> {
            var j = i
            while j + 1 < body.count, !(body[j] == 0x0D && body[j + 1] == 0x0A) { j += 1 }
            guard j + 1 < body.count else { throw S3Error(.incompleteBody, "the aws-chunked body ends inside a chunk header") }
            defer { i = j + 2 }
            return body[i..<j]
        }
        while true {
            let header = String(decoding: try line(), as: UTF8.self)
            let parts = header.split(separator: ";", maxSplits: 1)
            guard let first = parts.first, let size = Int(first.trimmingSpaces, radix: 16), size >= 0, size <= 1 << 30 else {
                throw S3Error(.invalidArgument, "malformed aws-chunked chunk header '\(header.prefix(80))'")
            }
            guard i + size <= body.count else { throw S3Error(.incompleteBody, "an aws-chunked chunk of \(size) bytes is cut short") }
            let chunk = body[i..<(i + size)]
            if let chain {
                guard parts.count == 2, parts[1].hasPrefix("chunk-signature=") else {
                    throw S3Error(.signatureDoesNotMatch, "a signed aws-chunked chunk has no chunk-signature")
                }
                let signature = String(parts[1].dropFirst("chunk-signature=".count))
                let expected = SigV4.chunkSignature(claim: chain.claim, key: chain.key, previous: previous, chunk: chunk)
                guard SigV4.same(signature.lowercased(), expected) else {
                    throw S3Error(.signatureDoesNotMatch, "the signature of an aws-chunked chunk does not match")
                }
                previous = expected
            }
            payload += chunk
            i += size
            if size == 0 { break }
            guard i + 1 < body.count, body[i] == 0x0D, body[i + 1] == 0x0A else { throw S3Error(.incompleteBody, "an aws-chunked chunk lacks its CRLF") }
            i += 2
        }
        // Trailers (possibly none), up to an empty line or the end.
        while i < body.count {
            let text = String(decoding: try line(), as: UTF8.self)
            if text.isEmpty { break }
            guard let colon = text.firstIndex(of: ":") else { throw S3Error(.invalidArgument, "malformed aws-chunked trailer '\(text.prefix(80))'") }
            trailers[text[..<colon].lowercased()] = String(text[text.index(after: colon)...]).trimmingSpaces
        }
        if let decodedLength, decodedLength != payload.count {
            throw S3Error(.incompleteBody, "x-amz-decoded-content-length says \(decodedLength) bytes; the chunks hold \(payload.count)")
        }
        return DecodedBody(payload: payload, trailers: trailers)
    }
}
