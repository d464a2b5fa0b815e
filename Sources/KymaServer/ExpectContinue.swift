// `Expect: 100-continue`: curl (bodies over 1 MB), boto3 and other clients send the head, then
// wait up to a second for "100 Continue" before the body. Hummingbird does not answer it, so every
// large upload waited that second (a 1.7 MB _bulk request took 1.1 s instead of 60 ms). This
// handler, between the HTTP codec and Hummingbird, answers it as soon as the head arrives.

import HTTPTypes
import NIOCore
import NIOHTTPTypes

final class ExpectContinueHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data),
           head.headerFields[.expect].map({ $0.lowercased() == "100-continue" }) == true {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        context.fireChannelRead(data)
    }
}
