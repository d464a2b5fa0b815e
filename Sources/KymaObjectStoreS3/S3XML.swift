// The few pieces of S3's XML responses Kyma reads: ListObjectsV2 results and error codes.
// S3's XML is flat and regular; a tag scanner with entity decoding covers it.

import KymaCore

enum S3XML {
    /// The text of each `<tag>...</tag>` element directly in `xml`, in order, entity-decoded.
    static func elements(_ tag: String, in xml: Substring) -> [Substring] {
        var result: [Substring] = []
        let open = "<\(tag)>", close = "</\(tag)>"
        var rest = xml[...]
        while let start = rest.firstRange(of: open) {
            guard let end = rest[start.upperBound...].firstRange(of: close) else { break }
            result.append(rest[start.upperBound..<end.lowerBound])
            rest = rest[end.upperBound...]
        }
        return result
    }

    static func firstText(_ tag: String, in xml: Substring) -> String? {
        elements(tag, in: xml).first.map { decodeEntities($0) }
    }

    static func decodeEntities(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var out = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "&", let semicolon = text[index...].firstIndex(of: ";") {
                let entity = text[text.index(after: index)..<semicolon]
                var decoded: String? = nil
                switch entity {
                case "amp": decoded = "&"
                case "lt": decoded = "<"
                case "gt": decoded = ">"
                case "quot": decoded = "\""
                case "apos": decoded = "'"
                default:
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X"), let value = UInt32(entity.dropFirst(2), radix: 16), let scalar = Unicode.Scalar(value) {
                        decoded = String(Character(scalar))
                    } else if entity.hasPrefix("#"), let value = UInt32(entity.dropFirst()), let scalar = Unicode.Scalar(value) {
                        decoded = String(Character(scalar))
                    }
                }
                if let decoded {
                    out += decoded
                    index = text.index(after: semicolon)
                    continue
                }
            }
            out.append(character)
            index = text.index(after: index)
        }
        return out
    }

    /// Parses S3's `2026-11-21T19:00:00.000Z` timestamps to milliseconds since the epoch.
    static func parseTimestampMillis(_ text: String) -> Int64? {
        let utf8 = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= utf8.count else { return nil }
            var value: Int64 = 0
            for byte in utf8[from..<from + count] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
        var millis: Int64 = 0
        if utf8.count > 20, utf8[19] == UInt8(ascii: "."), let fraction = number(20, 3) { millis = fraction }
        let days = CivilDate.days(year: year, month: month, day: day)
        return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
    }
}
