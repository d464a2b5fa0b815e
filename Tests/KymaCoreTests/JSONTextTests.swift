// Kyma's JSON writer against Foundation's JSONSerialization (the independent reader, and the
// writer it replaced): the same values come back, keys come out sorted, and strings that need
// escapes are hand-checked.

import Foundation
import KymaCore
import Testing

@Suite("JSON text")
struct JSONTextTests {
    func parse(_ bytes: [UInt8]) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
    }

    @Test func writesWhatFoundationReadsBack() throws {
        // Parsed values (NSNumber, __NSCFBoolean, NSNull) and Swift's own (Int, Int64, Bool,
        // Double, [String: String]) as the commit code mixes them.
        let parsed = try JSONSerialization.jsonObject(with: Data(#"""
            {"format-version":2,"big":9223372036854775807,"neg":-17,"ok":true,"no":false,"none":null,"ratio":0.25,
             "snapshots":[{"snapshot-id":123456789012345,"summary":{"k2i.offsets":"{\"t:0\":5}","operation":"append"}}],
             "empty":{},"list":[]}
            """#.utf8))
        var object = try #require(parsed as? [String: Any])
        object["swift-int"] = 42
        object["swift-int64"] = Int64(-9_000_000_000)
        object["swift-bool"] = true
        object["swift-double"] = 1.5
        object["swift-strings"] = ["b": "2", "a": "1"] as [String: String]
        object["swift-array"] = [1, "two", false, NSNull()] as [Any]
        object["swift-uint64"] = UInt64.max
        let written = try JSONText.encode(object)
        let expected = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        #expect(try parse(written) == parse([UInt8](expected)))
        // Booleans stay booleans, not 1 and 0.
        let text = String(decoding: written, as: UTF8.self)
        #expect(text.contains(#""ok":true"#) && text.contains(#""no":false"#) && text.contains(#""swift-bool":true"#))
        #expect(text.contains(#""big":9223372036854775807"#) && text.contains(#""swift-int64":-9000000000"#))
        #expect(text.contains(#""swift-uint64":18446744073709551615"#))
    }

    @Test func sortsKeysAndEscapesStrings() throws {
        let object: [String: Any] = ["b": "quote \" backslash \\ newline \n tab \t bell \u{7} é 😀", "a": 1, "ab": [String: Any]()]
        let text = String(decoding: try JSONText.encode(object), as: UTF8.self)
        #expect(text == #"{"a":1,"ab":{},"b":"quote \" backslash \\ newline \n tab \t bell \u0007 é 😀"}"#)
        #expect(JSONText.quote("a\u{1f}\"") == #""a\u001f\"""#)
    }

    @Test func everySwiftIntegerIsANumber() throws {
        let object: [String: Any] = ["a": Int8(-5), "b": UInt8(200), "c": Int16(-300), "d": UInt32(7), "e": UInt(9), "f": true, "g": UInt64.max]
        let text = String(decoding: try JSONText.encode(object), as: UTF8.self)
        #expect(text == #"{"a":-5,"b":200,"c":-300,"d":7,"e":9,"f":true,"g":18446744073709551615}"#, "\(text)")
    }

    @Test func refusesWhatJSONCannotHold() {
        #expect(throws: KymaCoreError.self) { try JSONText.encode(["x": Double.nan]) }
        #expect(throws: KymaCoreError.self) { try JSONText.encode(["x": Date()]) }
    }
}
