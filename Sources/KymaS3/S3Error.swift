// S3's errors as clients expect them: a code from the S3 API reference, its HTTP status, and the
// XML body `<Error><Code/><Message/><Resource/><RequestId/></Error>`.

public struct S3Error: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        case accessDenied = "AccessDenied"
        case authorizationHeaderMalformed = "AuthorizationHeaderMalformed"
        case authorizationQueryParametersError = "AuthorizationQueryParametersError"
        case badDigest = "BadDigest"
        case bucketAlreadyOwnedByYou = "BucketAlreadyOwnedByYou"
        case bucketNotEmpty = "BucketNotEmpty"
        case entityTooLarge = "EntityTooLarge"
        case entityTooSmall = "EntityTooSmall"
        case expiredToken = "ExpiredToken"
        case incompleteBody = "IncompleteBody"
        case internalError = "InternalError"
        case invalidAccessKeyId = "InvalidAccessKeyId"
        case invalidArgument = "InvalidArgument"
        case invalidBucketName = "InvalidBucketName"
        case invalidDigest = "InvalidDigest"
        case invalidPart = "InvalidPart"
        case invalidPartOrder = "InvalidPartOrder"
        case invalidRange = "InvalidRange"
        case invalidRequest = "InvalidRequest"
        case keyTooLong = "KeyTooLongError"
        case malformedXML = "MalformedXML"
        case metadataTooLarge = "MetadataTooLarge"
        case methodNotAllowed = "MethodNotAllowed"
        case notModified = "NotModified"
        case missingContentLength = "MissingContentLength"
        case noSuchBucket = "NoSuchBucket"
        case noSuchKey = "NoSuchKey"
        case noSuchUpload = "NoSuchUpload"
        case notImplemented = "NotImplemented"
        case preconditionFailed = "PreconditionFailed"
        case requestTimeTooSkewed = "RequestTimeTooSkewed"
        case requestTimeout = "RequestTimeout"
        case serviceUnavailable = "ServiceUnavailable"
        case signatureDoesNotMatch = "SignatureDoesNotMatch"
        case slowDown = "SlowDown"
        case xAmzContentSHA256Mismatch = "XAmzContentSHA256Mismatch"

        public var status: Int {
            switch self {
            case .accessDenied, .invalidAccessKeyId, .signatureDoesNotMatch, .requestTimeTooSkewed, .expiredToken: 403
            case .noSuchBucket, .noSuchKey, .noSuchUpload: 404
            case .methodNotAllowed: 405
            case .bucketAlreadyOwnedByYou, .bucketNotEmpty: 409
            case .missingContentLength: 411
            case .preconditionFailed: 412
            case .notModified: 304
            case .invalidRange: 416
            case .internalError: 500
            case .notImplemented: 501
            case .serviceUnavailable, .slowDown: 503
            default: 400
            }
        }
    }

    public var code: Code
    public var message: String
    /// The bucket or key the error is about (`<Resource>`).
    public var resource: String

    public init(_ code: Code, _ message: String, resource: String = "") {
        self.code = code
        self.message = message
        self.resource = resource
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public func xml(requestID: String) -> String {
        // Errors carry no namespace, as S3 writes them (clients look for a bare <Error>).
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + XMLText.node("Error", [
            ("Code", code.rawValue), ("Message", message), ("Resource", resource), ("RequestId", requestID),
        ].map { XMLText.element($0.0, $0.1) }.joined())
    }
}
