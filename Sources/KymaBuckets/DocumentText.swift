// The readable text of a document object: plain text as it is, Markdown without its markup,
// HTML without tags, scripts, styles and comments and with its character references decoded.
// What is left is what a reader would read, so it is what gets embedded and searched.

public enum DocumentKind: String, Sendable, CaseIterable {
    case text, markdown, html

    /// The kind an option names, or else the object's content type, or else its key's extension;
    /// text when none says.
    public static func of(key: String, contentType: String?, option: String?) -> DocumentKind {
        if let option, let kind = DocumentKind(rawValue: option) { return kind }
        let type = (contentType ?? "").lowercased()
        if type.hasPrefix("text/html") || type.hasPrefix("application/xhtml") { return .html }
        if type.hasPrefix("text/markdown") || type.hasPrefix("text/x-markdown") { return .markdown }
        var name = Substring(key.lowercased())
        for suffix in [".gz", ".zst"] where name.hasSuffix(suffix) { name = name.dropLast(suffix.count) }
        if name.hasSuffix(".html") || name.hasSuffix(".htm") || name.hasSuffix(".xhtml") { return .html }
        if name.hasSuffix(".md") || name.hasSuffix(".markdown") { return .markdown }
        return .text
    }
}

public enum DocumentText {
    public static func readable(_ text: String, kind: DocumentKind) -> String {
        switch kind {
        case .text: text
        case .markdown: markdown(text)
        case .html: html(text)
        }
    }

    /// Markdown with fences, heading marks, emphasis, list and quote marks removed, links and
    /// images reduced to their text.
    static func markdown(_ text: String) -> String {
        var lines: [String] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = Substring(raw)
            let trimmed = line.drop(while: { $0 == " " })
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") { continue }
            line = trimmed.hasPrefix("#") ? trimmed.drop(while: { $0 == "#" }) : line
            let body = line.drop(while: { $0 == " " })
            for mark in ["> ", "- ", "* ", "+ "] where body.hasPrefix(mark) { line = body.dropFirst(2) }
            lines.append(inlineMarkdown(String(line)))
        }
        return lines.joined(separator: "\n")
    }

    /// `[text](url)` and `![alt](url)` become their text; `*`, `_` and backticks go.
    static func inlineMarkdown(_ line: String) -> String {
        var out = ""
        var characters = Array(line)[...]
        while let first = characters.first {
            if first == "!" , characters.dropFirst().first == "[" { characters = characters.dropFirst(); continue }
            if first == "[", let close = characters.firstIndex(of: "]"), characters.index(after: close) < characters.endIndex,
               characters[characters.index(after: close)] == "(", let end = characters[close...].firstIndex(of: ")") {
                out += String(characters[characters.index(after: characters.startIndex)..<close])
                characters = characters[characters.index(after: end)...]
                continue
            }
            if first != "*", first != "_", first != "`" { out.append(first) }
            characters = characters.dropFirst()
        }
        return out
    }

    static let blockTags: Set<String> = ["p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
                                         "section", "article", "header", "footer", "blockquote", "pre", "hr", "title", "dt", "dd"]

    /// HTML's text: tags dropped (block tags leave a line break), `script`, `style` and comments
    /// dropped with their content, character references decoded.
    static func html(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        func lowercasedName(from start: Int) -> String {
            var j = start
            if j < scalars.count, scalars[j] == "/" { j += 1 }
            var name = ""
            while j < scalars.count, scalars[j].properties.isAlphabetic || ("0"..."9").contains(scalars[j]) {
                name.unicodeScalars.append(scalars[j]); j += 1
            }
            return name.lowercased()
        }
        /// Whether `needle` (lowercase ASCII) is at `position`, ignoring ASCII case.
        func matches(_ needle: [Unicode.Scalar], at position: Int) -> Bool {
            guard position + needle.count <= scalars.count else { return false }
            for (offset, expected) in needle.enumerated() {
                var found = scalars[position + offset].value
                if (65...90).contains(found) { found += 32 }
                if found != expected.value { return false }
            }
            return true
        }
        func find(_ needle: String, from start: Int) -> Int? {
            let pattern = Array(needle.unicodeScalars)
            var j = start
            while j + pattern.count <= scalars.count {
                if matches(pattern, at: j) { return j }
                j += 1
            }
            return nil
        }
        while i < scalars.count {
            let scalar = scalars[i]
            if scalar == "<" {
                if matches(Array("<!--".unicodeScalars), at: i) {
                    i = (find("-->", from: i + 4).map { $0 + 3 }) ?? scalars.count
                    continue
                }
                let name = lowercasedName(from: i + 1)
                if name == "script" || name == "style", i + 1 < scalars.count, scalars[i + 1] != "/" {
                    i = (find("</\(name)", from: i + 1).flatMap { end in scalars[end...].firstIndex(of: ">").map { $0 + 1 } }) ?? scalars.count
                    continue
                }
                guard let close = scalars[i...].firstIndex(of: ">") else { out.append(scalar); i += 1; continue }
                if blockTags.contains(name) { out.append("\n") }
                i = close + 1
                continue
            }
            if scalar == "&", let semicolon = scalars[i..<min(scalars.count, i + 12)].firstIndex(of: ";"),
               let decoded = entity(String(String.UnicodeScalarView(scalars[(i + 1)..<semicolon]))) {
                out.append(decoded)
                i = semicolon + 1
                continue
            }
            out.append(scalar)
            i += 1
        }
        return String(out)
    }

    static func entity(_ name: String) -> Unicode.Scalar? {
        switch name {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos": return "'"
        case "nbsp": return " "
        default:
            if name.hasPrefix("#x") || name.hasPrefix("#X") { return UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init) }
            if name.hasPrefix("#") { return UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init) }
            return nil
        }
    }
}
