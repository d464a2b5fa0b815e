// The S3 store's own pieces: SigV4 URI encoding, XML parsing,
// error classification of an unreachable endpoint.

import Testing
@testable import KymaObjectStoreS3
import KymaObjectStore

@Suite("S3 internals")
struct S3InternalsTests {
    @Test func uriEncodingFollowsSigV4() {
        #expect(URIEncoding.encode("a b/c+d~e_f.g-h", keepSlash: true) == "a%20b/c%2Bd~e_f.g-h")
        #expect(URIEncoding.encode("a/b", keepSlash: false) == "a%2Fb")
        #expect(URIEncoding.encode("é", keepSlash: true) == "%C3%A9")
    }

    @Test func listQueryIsSortedAndEncoded() {
        let store = S3ObjectStore(S3Configuration(endpoint: "http://127.0.0.1:1", bucket: "b", prefix: "p", credentials: nil))
        let url = store.url(path: "/b", query: [("prefix", "p/x y"), ("list-type", "2"), ("continuation-token", "a+b=")])
        #expect(url == "http://127.0.0.1:1/b?continuation-token=a%2Bb%3D&list-type=2&prefix=p%2Fx%20y")
        #expect(store.objectPath(try! ObjectKey("k/1 2")) == "/b/p/k/1%202")
        let virtual = S3ObjectStore(S3Configuration(endpoint: "https://s3.eu-west-1.amazonaws.com", bucket: "bk", pathStyle: false, credentials: nil))
        #expect(virtual.url(path: virtual.objectPath(try! ObjectKey("x")), query: []) == "https://bk.s3.eu-west-1.amazonaws.com/x")
    }

    @Test func xmlElementsAndEntities() {
        let xml: Substring = "<R><Contents><Key>a&amp;b&lt;c&#x41;&#66;</Key><Size>12</Size></Contents><Contents><Key>z</Key></Contents><IsTruncated>false</IsTruncated></R>"
        let contents = S3XML.elements("Contents", in: xml)
        #expect(contents.count == 2)
        #expect(S3XML.firstText("Key", in: contents[0]) == "a&b<cAB")
        #expect(S3XML.firstText("Size", in: contents[0]) == "12")
        #expect(S3XML.firstText("IsTruncated", in: xml) == "false")
    }

    @Test func timestampsParse() {
        #expect(S3XML.parseTimestampMillis("1970-01-01T00:00:01.500Z") == 1500)
        #expect(S3XML.parseTimestampMillis("2026-11-21T19:00:00.000Z") == 1_795_287_600_000)
        #expect(HTTPDate.parseMillis("Sat, 21 Nov 2026 19:00:00 GMT") == 1_795_287_600_000)
    }

    @Test func unreachableEndpointIsTransient() async throws {
        // Port 9 on loopback: nothing listens, the connection is refused at once.
        let store = S3ObjectStore(S3Configuration(endpoint: "http://127.0.0.1:9", bucket: "b", credentials: nil))
        do {
            _ = try await store.get(try ObjectKey("x"))
            Issue.record("expected a failure")
        } catch {
            #expect(error.kind == .unavailable)
            #expect(error.isTransient)
        }
    }
}
