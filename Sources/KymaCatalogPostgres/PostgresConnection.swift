// One libpq connection: connect, run parameterised statements, map errors to CatalogError.

#if canImport(Glibc)
import Glibc
#endif
import CPostgres
import KymaCatalog

/// The rows of one result, as text (libpq's text format), with NULL as nil.
struct PostgresRows {
    var columns: [String]
    var rows: [[String?]]
    var affectedRows: Int

    func value(_ row: Int, _ column: String) -> String? {
        guard rows.indices.contains(row), let index = columns.firstIndex(of: column) else { return nil }
        return rows[row][index]
    }
}

/// A libpq connection. Not thread-safe: the pool hands it to one caller at a time, who uses it
/// on one thread at a time (hence `@unchecked Sendable`).
final class PostgresConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    let redactedURL: String

    init(url: String, redactedURL: String) throws(CatalogError) {
        self.redactedURL = redactedURL
        guard let handle = PQconnectdb(url) else {
            throw .cannotConnect(url: redactedURL, reason: "out of memory")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let reason = Self.firstLine(String(cString: PQerrorMessage(handle)))
            PQfinish(handle)
            throw .cannotConnect(url: redactedURL, reason: reason)
        }
        self.handle = handle
        _ = try? execute("SET application_name = 'kyma'; SET client_min_messages = warning")
    }

    deinit { PQfinish(handle) }

    var isHealthy: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Runs one statement with text parameters ($1, $2, ...). Throws a `CatalogError` mapped
    /// from the SQLSTATE.
    @discardableResult
    func execute(_ sql: String, _ parameters: [String?] = [], operation: String = "statement") throws(CatalogError) -> PostgresRows {
        let result: OpaquePointer?
        if parameters.isEmpty {
            result = PQexec(handle, sql)
        } else {
            // Keep the C strings alive for the call.
            let cStrings: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0)! } }
            defer { cStrings.forEach { free($0) } }
            result = cStrings.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: UnsafePointer<CChar>?.self) { values in
                    PQexecParams(handle, sql, Int32(parameters.count), nil, values.baseAddress, nil, nil, 0)
                }
            }
        }
        guard let result else {
            throw classifyConnectionFailure(operation: operation)
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return Self.rows(of: result)
        default:
            if !isHealthy { throw classifyConnectionFailure(operation: operation) }
            let message = Self.firstLine(String(cString: PQresultErrorMessage(result)))
            let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
            throw Self.classify(sqlState: sqlState, message: message, operation: operation)
        }
    }

    private func classifyConnectionFailure(operation: String) -> CatalogError {
        .connectionLost(reason: "\(operation): " + Self.firstLine(String(cString: PQerrorMessage(handle))))
    }

    static func classify(sqlState: String, message: String, operation: String) -> CatalogError {
        if ["23505", "40001", "40P01"].contains(sqlState) { return .conflict("\(operation): \(message)") }
        if sqlState.hasPrefix("23") { return .constraint("\(operation): \(message)") }
        if sqlState.hasPrefix("08") || sqlState.hasPrefix("57P") { return .connectionLost(reason: "\(operation): \(message)") }
        return .query(operation: operation, reason: message)
    }

    private static func rows(of result: OpaquePointer) -> PostgresRows {
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            rows.append((0..<columnCount).map { column -> String? in
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 { return nil }
                return String(cString: PQgetvalue(result, Int32(row), Int32(column)))
            })
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        return PostgresRows(columns: columns, rows: rows, affectedRows: affected)
    }

    static func firstLine(_ text: String) -> String {
        let line = text.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? text
        return line.trimmingCharacters(in: " \t\r")
    }

    /// Runs `body` inside BEGIN/COMMIT, rolling back when it throws.
    func transaction<T>(_ body: () throws(CatalogError) -> T) throws(CatalogError) -> T {
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT", operation: "commit")
            return value
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}

/// Text helpers for SQL parameters.
enum SQLText {
    /// A PostgreSQL array literal of text values: {"a","b"}.
    static func textArray(_ values: [String]) -> String {
        "{" + values.map { "\"" + $0.replacingOccurrences("\\", "\\\\").replacingOccurrences("\"", "\\\"") + "\"" }.joined(separator: ",") + "}"
    }

    /// A PostgreSQL array literal whose nil elements are NULL: {"a",NULL}.
    static func nullableArray(_ values: [String?]) -> String {
        "{" + values.map { value in
            guard let value else { return "NULL" }
            return "\"" + value.replacingOccurrences("\\", "\\\\").replacingOccurrences("\"", "\\\"") + "\""
        }.joined(separator: ",") + "}"
    }

    /// Parses libpq's text form of a text[] value.
    static func parseTextArray(_ text: String) -> [String] {
        var values: [String] = []
        var chars = Array(text.dropFirst().dropLast())
        var index = 0
        var current = ""
        var quoted = false
        var sawQuotes = false
        while index < chars.count {
            let c = chars[index]
            if quoted {
                if c == "\\", index + 1 < chars.count { current.append(chars[index + 1]); index += 2; continue }
                if c == "\"" { quoted = false; index += 1; continue }
                current.append(c)
            } else if c == "\"" {
                quoted = true
                sawQuotes = true
            } else if c == "," {
                values.append(current)
                current = ""
                sawQuotes = false
            } else {
                current.append(c)
            }
            index += 1
        }
        if !current.isEmpty || sawQuotes || !chars.isEmpty { values.append(current) }
        chars.removeAll()
        return values
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }
}
