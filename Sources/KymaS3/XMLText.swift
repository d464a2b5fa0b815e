// The XML of the S3 API: responses written as text (escaped), and the few request bodies S3
// takes (CompleteMultipartUpload, Delete, CreateBucketConfiguration) read by a small parser of
// elements and text (no DTDs, no entities but the five predefined and character references;
// anything else is MalformedXML). Namespaces are ignored: elements match by local name.

public enum XMLText {
    public static let namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // XML 1.0 cannot carry most control characters, even escaped: S3 returns them
                // as character references, which clients read back.
                if c.value < 0x20 && c != "\n" && c != "\t" && c != "\r" { out += "&#\(c.value);" } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }

    public static func element(_ name: String, _ text: String) -> String { "<\(name)>\(escape(text))</\(name)>" }

    /// `<name>children</name>` (children already XML).
    public static func node(_ name: String, _ children: String) -> String { "<\(name)>\(children)</\(name)>" }

    public static func document(_ root: String, _ children: String) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(root) xmlns=\"\(namespace)\">\(children)</\(root)>"
    }
}

/// A parsed element: its local name, its text (concatenated), its child elements.
public struct XMLElement: Sendable, Hashable {
    public var name: String
    public var text: String
    public var children: [XMLElement]

    public func first(_ name: String) -> XMLElement? { children.first { $0.name == name } }
    public func all(_ name: String) -> [XMLElement] { children.filter { $0.name == name } }

    /// Parses a whole document; the root element or MalformedXML.
    public static func parse(_ bytes: [UInt8]) throws(S3Error) -> XMLElement {
        var parser = Parser(bytes: bytes)
        return try parser.document()
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0
        var depth = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ reason: String) -> S3Error {
            S3Error(.malformedXML, "the XML you provided was not well-formed: \(reason) at byte \(i)")
        }

        mutating func skipSpace() { while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 } }

        mutating func skipMisc() throws(S3Error) {
            while true {
                skipSpace()
                if starts("<?") { try skip(past: "?>") } else if starts("<!--") { try skip(past: "-->") } else { return }
            }
        }

        func starts(_ text: String) -> Bool {
            let t = Array(text.utf8)
            return i + t.count <= bytes.count && Array(bytes[i..<i + t.count]) == t
        }

        mutating func skip(past text: String) throws(S3Error) {
            let t = Array(text.utf8)
            while i + t.count <= bytes.count {
                if Array(bytes[i..<i + t.count]) == t { i += t.count; return }
                i += 1
            }
            throw fail("unterminated '\(text)'")
        }

        mutating func document() throws(S3Error) -> XMLElement {
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
            try skipMisc()
            if starts("<!DOCTYPE") { throw fail("a DOCTYPE is not accepted") }
            let root = try element()
            try skipMisc()
            guard i == bytes.count else { throw fail("content after the root element") }
            return root
        }

        mutating func name() throws(S3Error) -> String {
            let start = i
            while i < bytes.count, !([0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ">"), UInt8(ascii: "/"), UInt8(ascii: "=")].contains(bytes[i])) { i += 1 }
            guard i > start else { throw fail("a name was expected") }
            let full = String(decoding: bytes[start..<i], as: UTF8.self)
            return full.split(separator: ":").last.map(String.init) ?? full
        }

        mutating func element() throws(S3Error) -> XMLElement {
            depth += 1
            defer { depth -= 1 }
            guard depth <= 32 else { throw fail("elements nested more than 32 deep") }
            guard i < bytes.count, bytes[i] == UInt8(ascii: "<") else { throw fail("'<' was expected") }
            i += 1
            let tag = try name()
            // Attributes (xmlns and the like) are read past, not kept.
            while true {
                skipSpace()
                guard i < bytes.count else { throw fail("unterminated tag <\(tag)>") }
                if bytes[i] == UInt8(ascii: "/") {
                    guard i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: ">") else { throw fail("'/>' was expected") }
                    i += 2
                    return XMLElement(name: tag, text: "", children: [])
                }
                if bytes[i] == UInt8(ascii: ">") { i += 1; break }
                _ = try name()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "=") else { throw fail("'=' was expected in an attribute") }
                i += 1
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") || bytes[i] == UInt8(ascii: "'") else { throw fail("a quoted attribute value was expected") }
                let quote = bytes[i]
                i += 1
                while i < bytes.count, bytes[i] != quote { i += 1 }
                guard i < bytes.count else { throw fail("unterminated attribute value") }
                i += 1
            }
            var text: [UInt8] = []
            var children: [XMLElement] = []
            while true {
                guard i < bytes.count else { throw fail("<\(tag)> is not closed") }
                if starts("</") {
                    i += 2
                    let closing = try name()
                    guard closing == tag else { throw fail("</\(closing)> closes <\(tag)>") }
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ">") else { throw fail("'>' was expected") }
                    i += 1
                    return XMLElement(name: tag, text: String(decoding: text, as: UTF8.self), children: children)
                }
                if starts("<!--") { try skip(past: "-->"); continue }
                if starts("<![CDATA[") {
                    i += 9
                    let start = i
                    try skip(past: "]]>")
                    text += bytes[start..<(i - 3)]
                    continue
                }
                if bytes[i] == UInt8(ascii: "<") { children.append(try element()); continue }
                if bytes[i] == UInt8(ascii: "&") { text += Array(try entity().utf8); continue }
                text.append(bytes[i])
                i += 1
            }
        }

        mutating func entity() throws(S3Error) -> String {
            let start = i
            while i < bytes.count, bytes[i] != UInt8(ascii: ";"), i - start < 12 { i += 1 }
            guard i < bytes.count, bytes[i] == UInt8(ascii: ";") else { throw fail("an unterminated entity") }
            let body = String(decoding: bytes[(start + 1)..<i], as: UTF8.self)
            i += 1
            switch body {
            case "amp": return "&"
            case "lt": return "<"
            case "gt": return ">"
            case "quot": return "\""
            case "apos": return "'"
            default:
                let number = body.hasPrefix("#x") ? UInt32(body.dropFirst(2), radix: 16) : body.hasPrefix("#") ? UInt32(body.dropFirst(), radix: 10) : nil
                guard let number, let scalar = Unicode.Scalar(number) else { throw fail("unknown entity &\(body);") }
                return String(Character(scalar))
            }
        }
    }
}
