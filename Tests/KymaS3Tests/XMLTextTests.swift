// S3's XML: escaping of what responses carry (keys with markup characters and control
// characters), and the parser of request bodies against documents as SDKs send them and
// malformed ones, which must be MalformedXML, never a crash.

import KymaS3
import Testing

@Suite struct XMLTextTests {
    @Test func escapesMarkupAndControlCharacters() {
        #expect(XMLText.element("Key", "a<b>&\"c'") == "<Key>a&lt;b&gt;&amp;&quot;c&apos;</Key>")
        #expect(XMLText.element("Key", "x\u{1}y") == "<Key>x&#1;y</Key>")
    }

    @Test func parsesACompleteMultipartUploadAsBotocoreSendsIt() throws {
        let body = """
            <?xml version="1.0" encoding="UTF-8"?>
            <CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>&quot;abc&quot;</ETag><PartNumber>1</PartNumber>\
            </Part><Part><ETag>"def"</ETag><PartNumber>2</PartNumber><ChecksumCRC32>y/Q5Jg==</ChecksumCRC32></Part></CompleteMultipartUpload>
            """
        let root = try XMLElement.parse(Array(body.utf8))
        #expect(root.name == "CompleteMultipartUpload")
        #expect(root.all("Part").map { $0.first("PartNumber")?.text } == ["1", "2"])
        #expect(root.all("Part").map { $0.first("ETag")?.text } == ["\"abc\"", "\"def\""])
    }

    @Test func entitiesCDATAAndComments() throws {
        let root = try XMLElement.parse(Array("<Delete><!-- c --><Object><Key>a&#x20;&#98;<![CDATA[<c>]]></Key></Object><Quiet>true</Quiet></Delete>".utf8))
        #expect(root.first("Object")?.first("Key")?.text == "a b<c>")
        #expect(root.first("Quiet")?.text == "true")
    }

    @Test(arguments: [
        "", "<a>", "<a></b>", "<a>x</a><b/>", "<a>&unknown;</a>", "<!DOCTYPE a [<!ENTITY x 'y'>]><a/>", "<a b=c/>", "text",
        String(repeating: "<a>", count: 40) + String(repeating: "</a>", count: 40),
    ])
    func malformedDocumentsAreMalformedXML(_ text: String) {
        #expect { try XMLElement.parse(Array(text.utf8)) } throws: { ($0 as? S3Error)?.code == .malformedXML }
    }
}
