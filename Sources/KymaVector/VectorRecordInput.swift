// Vector records from JSON lines, `{"id", "vector", "fields", "text"}` per line: the one reader
// the CLI's `kyma vector upsert` and the server's upsert route share.

import KymaCore
import KymaIngest

public enum VectorRecordInput {
    /// The records of `bytes`; `source` names the input in errors ("file.jsonl", "request body").
    public static func records(_ bytes: [UInt8], source: String) throws(VectorError) -> [VectorRecord] {
        var records: [VectorRecord] = []
        for (number, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            guard line.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { continue }
            let place = "\(source): line \(number + 1)"
            let pairs: [(String, ScalarValue)]
            do throws(JSONParseError) {
                pairs = try JSONLineParser.flatten(line)
            } catch {
                throw VectorError.invalidRecord(id: place, reason: "column \(error.column): \(error.reason)")
            }
            var id: String?, vector: [Float]?, text: String?
            var fields: [String: ScalarValue] = [:]
            for (key, value) in pairs {
                switch (key, value) {
                case ("id", .string(let s)): id = s
                case ("id", .int64(let v)): id = String(v)
                case ("id", _): throw VectorError.invalidRecord(id: place, reason: "\"id\" must be a string or an integer")
                case ("vector", .string(let array)): vector = try floats(array, place)
                case ("vector", _): throw VectorError.invalidRecord(id: place, reason: "\"vector\" must be an array of numbers, not \(value == .null ? "null" : "a scalar")")
                case ("text", .string(let s)): text = s
                case ("text", .null): text = nil
                case ("text", _): throw VectorError.invalidRecord(id: place, reason: "\"text\" must be a string")
                default:
                    guard key.hasPrefix("fields.") else { throw VectorError.invalidRecord(id: place, reason: "unknown key '\(key)' (expected id, vector, fields, text)") }
                    fields[String(key.dropFirst("fields.".count))] = value
                }
            }
            guard let id else { throw VectorError.invalidRecord(id: place, reason: "no \"id\" (a string or an integer)") }
            guard let vector else { throw VectorError.invalidRecord(id: place, reason: "no \"vector\" array") }
            records.append(VectorRecord(id: id, vector: vector, fields: fields, text: text))
        }
        return records
    }

    /// `[0.1, 2, -3e-2]` as floats; anything else is a typed error.
    public static func floats(_ text: String, _ place: String) throws(VectorError) -> [Float] {
        let trimmed = text.filter { $0 != " " && $0 != "\n" && $0 != "\t" && $0 != "\r" }
        guard trimmed.hasPrefix("["), trimmed.hasSuffix("]") else { throw .invalidQuery("\(place): a vector is a JSON array of numbers") }
        let body = trimmed.dropFirst().dropLast()
        if body.isEmpty { return [] }
        var values: [Float] = []
        for (index, item) in body.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            guard let value = Float(item) else { throw .invalidQuery("\(place): vector component \(index) ('\(item)') is not a number") }
            values.append(value)
        }
        return values
    }
}
