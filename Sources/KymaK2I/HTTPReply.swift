// What k2i's HTTP endpoints answer (`K2IEngine.handle`); the k2i executable serves them on
// KymaServer's HTTP stack.

public struct HTTPReply: Sendable {
    public var status: Int
    public var contentType: String
    public var body: String

    public init(_ status: Int, _ body: String, contentType: String = "text/plain; charset=utf-8") {
        self.status = status
        self.body = body
        self.contentType = contentType
    }
}
