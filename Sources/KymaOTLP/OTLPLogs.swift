// KymaOTLP: OpenTelemetry logs (OTLP/HTTP `POST /v1/logs`, protobuf or JSON) as rows. Each
// log record becomes one JSON object line for the log ingestor, so OTLP rows take the same path
// to storage as NDJSON. The only importer of SwiftProtobuf; the messages are generated from
// Proto/*.proto by harness/gen-proto and committed (CI never runs the protobuf plugin).
//
// A record's row:
//   timestamp            time_unix_nano, else observed_time_unix_nano, else the time received (ns)
//   observed_timestamp   observed_time_unix_nano (ns), when set
//   severity_text, severity_number, event_name, flags   when set
//   body                 a string body as is; other bodies as JSON (maps become nested objects)
//   trace_id, span_id    lowercase hex, when set
//   attributes.K         the record's attributes
//   resource.K           the resource's attributes
//   scope.name, scope.version, scope.attributes.K       the instrumentation scope

import Foundation
import KymaCore
import SwiftProtobuf

public enum OTLPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The body is not an `ExportLogsServiceRequest` in the protobuf encoding.
    case malformedProtobuf(String)
    /// The body is not an `ExportLogsServiceRequest` in OTLP/JSON.
    case malformedJSON(String)

    public var description: String {
        switch self {
        case .malformedProtobuf(let reason): "not an OTLP logs request in protobuf: \(reason)"
        case .malformedJSON(let reason): "not an OTLP logs request in JSON: \(reason)"
        }
    }
}

/// Log records of one export request, as JSON object lines.
public struct OTLPLogRows: Sendable {
    /// One JSON object per line, one line per log record.
    public var lines: [UInt8]
    public var records: Int
}

public enum OTLPLogs {
    /// The column holding each record's time (nanoseconds since the epoch in the JSON lines).
    public static let timeColumn = "timestamp"

    /// The rows of a protobuf `ExportLogsServiceRequest`.
    public static func rows(protobuf body: [UInt8], receivedNanos: Int64) throws(OTLPError) -> OTLPLogRows {
        let request: Opentelemetry_Proto_Logs_V1_ExportLogsServiceRequest
        do {
            request = try Opentelemetry_Proto_Logs_V1_ExportLogsServiceRequest(serializedBytes: body)
        } catch {
            throw .malformedProtobuf("\(error)")
        }
        return rows(request, receivedNanos: receivedNanos)
    }

    /// The rows of an OTLP/JSON `ExportLogsServiceRequest`: field names in lowerCamelCase or as
    /// in the .proto, 64-bit integers as numbers or strings, trace and span ids in hex (the
    /// OTLP/JSON rule; other bytes are base64), unknown fields ignored.
    public static func rows(json body: [UInt8], receivedNanos: Int64) throws(OTLPError) -> OTLPLogRows {
        let tree: Any
        do {
            tree = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        } catch {
            throw .malformedJSON("the body is not JSON")
        }
        guard var object = tree as? [String: Any] else { throw .malformedJSON("the body is not a JSON object") }
        // swift-protobuf reads bytes fields as base64; OTLP/JSON writes the two ids in hex.
        try rewriteIds(&object)
        let request: Opentelemetry_Proto_Logs_V1_ExportLogsServiceRequest
        do {
            let data = try JSONSerialization.data(withJSONObject: object)
            var options = JSONDecodingOptions()
            options.ignoreUnknownFields = true
            request = try Opentelemetry_Proto_Logs_V1_ExportLogsServiceRequest(jsonUTF8Data: data, options: options)
        } catch {
            throw .malformedJSON("\(error)")
        }
        return rows(request, receivedNanos: receivedNanos)
    }

    /// The protobuf `ExportLogsServiceResponse`: empty when every record was taken, else a
    /// partial success naming how many were rejected and why.
    public static func response(rejected: Int, message: String) -> [UInt8] {
        var response = Opentelemetry_Proto_Logs_V1_ExportLogsServiceResponse()
        if rejected > 0 {
            response.partialSuccess.rejectedLogRecords = Int64(rejected)
            response.partialSuccess.errorMessage = message
        }
        return (try? response.serializedBytes()) ?? []  // a message of two scalar fields always encodes
    }

    /// The OTLP/JSON form of `response`.
    public static func jsonResponse(rejected: Int, message: String) -> String {
        guard rejected > 0 else { return "{}" }
        return "{\"partialSuccess\":{\"rejectedLogRecords\":\"\(rejected)\",\"errorMessage\":\(JSONText.quote(message))}}"
    }

    // MARK: - Records to rows

    static func rows(_ request: Opentelemetry_Proto_Logs_V1_ExportLogsServiceRequest, receivedNanos: Int64) -> OTLPLogRows {
        var out: [UInt8] = []
        var count = 0
        for resourceLogs in request.resourceLogs {
            let resource = resourceLogs.hasResource ? resourceLogs.resource.attributes : []
            for scopeLogs in resourceLogs.scopeLogs {
                let scope = scopeLogs.hasScope ? scopeLogs.scope : nil
                for record in scopeLogs.logRecords {
                    append(record, resource: resource, scope: scope, receivedNanos: receivedNanos, to: &out)
                    count += 1
                }
            }
        }
        return OTLPLogRows(lines: out, records: count)
    }

    static func append(_ record: Opentelemetry_Proto_Logs_V1_LogRecord, resource: [Opentelemetry_Proto_Common_V1_KeyValue],
                       scope: Opentelemetry_Proto_Common_V1_InstrumentationScope?, receivedNanos: Int64, to out: inout [UInt8]) {
        var fields: [(String, String)] = []
        let observed = Int64(clamping: record.observedTimeUnixNano)
        let time = record.timeUnixNano != 0 ? Int64(clamping: record.timeUnixNano) : observed != 0 ? observed : receivedNanos
        fields.append((timeColumn, String(time)))
        if record.observedTimeUnixNano != 0 { fields.append(("observed_timestamp", String(observed))) }
        if !record.severityText.isEmpty { fields.append(("severity_text", JSONText.quote(record.severityText))) }
        if record.severityNumber != 0 { fields.append(("severity_number", String(record.severityNumber))) }
        if !record.eventName.isEmpty { fields.append(("event_name", JSONText.quote(record.eventName))) }
        if record.hasBody {
            if case .stringValue(let text)? = record.body.value {
                fields.append(("body", JSONText.quote(text)))
            } else {
                fields.append(("body", JSONText.quote(json(record.body))))
            }
        }
        if !record.traceID.isEmpty { fields.append(("trace_id", JSONValue.render(.binary(Array(record.traceID))))) }  // lowercase hex
        if !record.spanID.isEmpty { fields.append(("span_id", JSONValue.render(.binary(Array(record.spanID))))) }
        if record.flags != 0 { fields.append(("flags", String(record.flags))) }
        if !record.attributes.isEmpty { fields.append(("attributes", object(record.attributes))) }
        if !resource.isEmpty { fields.append(("resource", object(resource))) }
        if let scope {
            var parts: [(String, String)] = []
            if !scope.name.isEmpty { parts.append(("name", JSONText.quote(scope.name))) }
            if !scope.version.isEmpty { parts.append(("version", JSONText.quote(scope.version))) }
            if !scope.attributes.isEmpty { parts.append(("attributes", object(scope.attributes))) }
            if !parts.isEmpty { fields.append(("scope", objectText(parts))) }
        }
        out.append(contentsOf: objectText(fields).utf8)
        out.append(0x0A)
    }

    /// Key-value pairs as a JSON object; a key repeated keeps its last value (JSON lines may not
    /// repeat a key).
    static func object(_ pairs: [Opentelemetry_Proto_Common_V1_KeyValue]) -> String {
        var order: [String] = []
        var values: [String: String] = [:]
        for pair in pairs {
            if values[pair.key] == nil { order.append(pair.key) }
            values[pair.key] = pair.hasValue ? json(pair.value) : "null"
        }
        return objectText(order.map { ($0, values[$0] ?? "null") })
    }

    static func objectText(_ fields: [(String, String)]) -> String {
        "{" + fields.map { JSONText.quote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// An AnyValue as JSON: a non-finite double as null, bytes as base64.
    static func json(_ value: Opentelemetry_Proto_Common_V1_AnyValue) -> String {
        switch value.value {
        case .stringValue(let text)?: JSONText.quote(text)
        case .boolValue(let flag)?: flag ? "true" : "false"
        case .intValue(let number)?: String(number)
        case .doubleValue(let number)?: JSONValue.render(.float64(number))  // NaN and infinities: null
        case .arrayValue(let array)?: "[" + array.values.map(json).joined(separator: ",") + "]"
        case .kvlistValue(let list)?: object(list.values)
        case .bytesValue(let bytes)?: JSONText.quote(bytes.base64EncodedString())
        case nil: "null"
        }
    }

    // MARK: - OTLP/JSON ids

    static let recordPath: [[String]] = [["resourceLogs", "resource_logs"], ["scopeLogs", "scope_logs"], ["logRecords", "log_records"]]
    static let idFields = ["traceId", "trace_id", "spanId", "span_id"]

    /// Rewrites every log record's hex trace and span id as base64, in place.
    static func rewriteIds(_ request: inout [String: Any]) throws(OTLPError) {
        for resourceKey in recordPath[0] {
            guard var resources = request[resourceKey] as? [Any] else { continue }
            for r in resources.indices {
                guard var resource = resources[r] as? [String: Any] else { continue }
                for scopeKey in recordPath[1] {
                    guard var scopes = resource[scopeKey] as? [Any] else { continue }
                    for s in scopes.indices {
                        guard var scope = scopes[s] as? [String: Any] else { continue }
                        for recordKey in recordPath[2] {
                            guard var records = scope[recordKey] as? [Any] else { continue }
                            for i in records.indices {
                                guard var record = records[i] as? [String: Any] else { continue }
                                for field in idFields {
                                    guard let text = record[field] as? String else { continue }
                                    guard let bytes = bytes(hex: text) else {
                                        throw .malformedJSON("\(field) '\(text.prefix(64))' is not hex")
                                    }
                                    record[field] = Data(bytes).base64EncodedString()
                                }
                                records[i] = record
                            }
                            scope[recordKey] = records
                        }
                        scopes[s] = scope
                    }
                    resource[scopeKey] = scopes
                }
                resources[r] = resource
            }
            request[resourceKey] = resources
        }
    }

    static func bytes(hex text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        var i = 0
        while i < digits.count {
            guard let high = value(digits[i]), let low = value(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }
}
