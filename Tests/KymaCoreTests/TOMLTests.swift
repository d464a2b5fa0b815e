// Kyma's TOML reader against Python's tomllib (the standard library's TOML 1.0 parser, which
// nobody here wrote): every document below gets the same value tree from both, or an error from
// both. Dates and times compare by their text.

import Foundation
import KymaCore
import Testing

@Suite struct TOMLTests {
    static let valid: [String] = [
        "a = 1\nb = \"two\"\nc = 3.5\nd = true\n",
        "# comment\nkey = 'literal \\ no escapes' # trailing\n",
        "s = \"tab\\there \\u00e9 \\U0001F600 quote\\\" backslash\\\\\"\n",
        "ml = \"\"\"\nline one\nline two \\\n    continued\"\"\"\n",
        "ml2 = '''\nraw \\n kept\n'''\n",
        "q = \"\"\"one \"\" two\"\"\"\"\n",
        "ints = [0, -17, +42, 1_000, 0xDEAD_beef, 0o755, 0b1101]\n",
        "floats = [1.0, -0.5, 3e2, 6.626e-34, 1_000.5, inf, -inf]\n",
        "nested = [[1, 2], [\"a\", 'b'], [], [ { x = 1 } ]]\n",
        "multi = [\n  1, # one\n  2,\n]\n",
        "[server]\nhost = \"127.0.0.1\"\nport = 8080\n\n[server.tls]\nenabled = false\n",
        "[a.b.c]\nx = 1\n[a]\ny = 2\n",
        "dotted.key.here = 1\ndotted.other = 2\n",
        "\"quoted key\" = 1\n'literal key' = 2\n\"a.b\" = 3\n",
        "inline = { x = 1, y = { z = \"w\" }, list = [1, 2] }\n",
        "[[fruit]]\nname = \"apple\"\n[fruit.skin]\ncolor = \"red\"\n[[fruit]]\nname = \"banana\"\n",
        "[[a.b]]\nx = 1\n[[a.b]]\nx = 2\n[a]\ny = 3\n",
        "odt = 1979-05-27T07:32:00Z\nldt = 1979-05-27T07:32:00.999\nld = 1979-05-27\nlt = 07:32:00\nsp = 1979-05-27 07:32:00-08:00\n",
        "empty = \"\"\nempty_literal = ''\nkey-with-dash = 1\n_ = 2\n1234 = 3\n",
        "a = 1\r\nb = 2\r\n",
        "t = { }\narr = [ ]\n",
        "[x]\n[x.y]\n[x.z]\nv = 1\n",
        "unicode = \"日本語 Ω\"\n\"ключ\" = 1\n",
        "",
    ]

    static let invalid: [String] = [
        "a = \n", "a = 1\na = 2\n", "[t]\n[t]\n", "a = \"unterminated\n", "a = 'x\n", "= 1\n", "a b = 1\n",
        "a = 01\n", "a = 1__0\n", "a = _1\n", "a = 1_\n", "a = 0x\n", "a = 1.\n", "a = .5\n", "a = 1e\n", "a = [1, 2\n",
        "a = { x = 1,\n y = 2 }\n", "a = { x = 1, }\n", "a = { x = 1, x = 2 }\n", "[a]\nb = 1\n[a.b]\n", "a = 1\n[a]\n",
        "a = [1]\n[[a]]\n", "a = { x = 1 }\n[a]\n", "a = { x = 1 }\na.y = 2\n", "[[a]]\n[a]\n", "a = \"\\q\"\n", "a = \"\\u12\"\n",
        "a = \"\\uD800\"\n", "a = 1979-13-01x\n", "a = true2\n", "a = nan2\n", "a = 'x' 'y'\n", "[a\n", "[[a]\n", "[a.]\n",
        "a = \"\u{1}\"\n", "a = 1 # \u{7F}\n", "a = +0x10\n", "a = -0b1\n", "[ a ] b = 1\n", "a.b = 1\na = 2\n",
    ]

    /// tomllib's verdict: a tagged JSON tree, or "error".
    static func judge(_ document: String) throws -> String {
        let script = """
        import json, sys, tomllib, datetime
        def tag(v):
            if isinstance(v, bool): return {"bool": v}
            if isinstance(v, int): return {"int": str(v)}
            if isinstance(v, float): return {"float": repr(v)}
            if isinstance(v, str): return {"string": v}
            if isinstance(v, (datetime.datetime, datetime.date, datetime.time)): return {"datetime": True}
            if isinstance(v, list): return {"array": [tag(x) for x in v]}
            if isinstance(v, dict): return {"table": sorted([[k, tag(x)] for k, x in v.items()], key=lambda p: p[0])}
            raise TypeError(type(v))
        try:
            doc = tomllib.loads(sys.stdin.buffer.read().decode("utf-8"))
        except Exception:
            print("error"); sys.exit(0)
        print(json.dumps(tag(doc), sort_keys=True, ensure_ascii=False))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(document.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Kyma's tree in the judge's shape.
    static func tagged(_ value: TOMLValue) -> Any {
        switch value {
        case .boolean(let b): return ["bool": b]
        case .integer(let i): return ["int": String(i)]
        case .float(let d): return ["float": d.isNaN ? "nan" : d.isInfinite ? (d > 0 ? "inf" : "-inf") : Self.pythonRepr(d)]
        case .string(let s): return ["string": s]
        case .datetime: return ["datetime": true]
        case .array(let items): return ["array": items.map(tagged)]
        case .table(let table): return ["table": table.entries.sorted { $0.key < $1.key }.map { [$0.key, tagged($0.value)] }]
        }
    }

    static func pythonRepr(_ d: Double) -> String {
        // Python's repr of a float: shortest round trip, always with a point or an exponent.
        let text = "\(d)"
        if text.contains(".") || text.contains("e") { return text.replacingOccurrences(of: "e-0", with: "e-").replacingOccurrences(of: "e+", with: "e+") }
        return text + ".0"
    }

    static func ours(_ document: String) -> String {
        guard let table = try? TOML.parse(document) else { return "error" }
        let data = try! JSONSerialization.data(withJSONObject: tagged(.table(table)), options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// JSON texts compared as values (key order and spacing aside).
    static func same(_ a: String, _ b: String) -> Bool {
        if a == "error" || b == "error" { return a == b }
        guard let x = try? JSONSerialization.jsonObject(with: Data(a.utf8)) as? NSDictionary,
              let y = try? JSONSerialization.jsonObject(with: Data(b.utf8)) as? NSDictionary else { return false }
        return x == y
    }

    @Test(arguments: valid) func validDocumentsReadAsTomllibReadsThem(_ document: String) throws {
        let judged = try Self.judge(document)
        #expect(judged != "error", "tomllib refuses a case meant to be valid: \(document)")
        #expect(Self.same(Self.ours(document), judged), "\(document)\n kyma:    \(Self.ours(document))\n tomllib: \(judged)")
    }

    @Test(arguments: invalid) func invalidDocumentsAreErrorsNamingTheLine(_ document: String) throws {
        #expect(try Self.judge(document) == "error", "tomllib accepts a case meant to be invalid: \(document)")
        do {
            _ = try TOML.parse(document)
            Issue.record("accepted: \(document.debugDescription)")
        } catch {
            #expect(error.line >= 1 && error.column >= 1)
        }
    }
}
