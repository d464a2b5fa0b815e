// `kyma table scan`: every row of a table as JSON lines, read from its extents through the
// format registry (catalog -> extents -> objects). Not a query language: the minimal read path
// the end-to-end invariant gates check against.

import ArgumentParser
import KymaCatalog
import KymaCore
import KymaFormat
import KymaObjectStore
import KymaRuntime

struct Scan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print every row of a table as JSON lines (timestamps as RFC 3339 UTC).")
    @OptionGroup var services: ServiceOptions
    @Argument var name: String

    func run() async throws {
        let opened = try await services.open()
        do {
            for extent in try await opened.catalog.extents(table: name, matching: .all) {
                let reader = try await opened.formats.open(store: opened.store, key: try ObjectKey(extent.objectKey), size: Int(extent.byteSize))
                for try await batch in reader.stream(BlockSelection(blocks: Array(0..<reader.blockCount))) {
                    var out = ""
                    for row in 0..<batch.rowCount {
                        out += JSONRow.render(names: batch.names, values: batch.columns.map { $0.value(at: row) })
                        out += "\n"
                    }
                    print(out, terminator: "")
                }
            }
        } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
    }
}

/// One row as a JSON object keyed by column name; nulls left out.
enum JSONRow {
    static func render(names: [String], values: [ScalarValue]) -> String {
        var parts: [String] = []
        for (name, value) in zip(names, values) {
            let text: String
            switch value {
            case .null: continue
            case .bool(let v): text = v ? "true" : "false"
            case .int64(let v): text = String(v)
            case .float64(let v): text = v.isFinite ? String(v) : "null"
            case .timestamp(let v): text = JSONText.quote(rfc3339(v))
            case .string(let v): text = JSONText.quote(v)
            case .binary(let v): text = JSONText.quote(v.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
            }
            parts.append(JSONText.quote(name) + ":" + text)
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// Nanoseconds since the epoch as `2026-11-21T19:00:00.123456789Z` (fraction trimmed).
    static func rfc3339(_ nanos: Int64) -> String {
        let seconds = nanos >= 0 ? nanos / 1_000_000_000 : (nanos + 1) / 1_000_000_000 - 1
        let fraction = nanos - seconds * 1_000_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds + 1) / 86_400 - 1
        let secondOfDay = seconds - days * 86_400
        // Civil from days (Howard Hinnant).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var text = "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))"
        if fraction != 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 9 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text + "Z"
    }
}
