// Request bodies: read whole within the body limit and the stall timeout (a client that stops
// sending frees its slot), decompressed by Content-Encoding (gzip or zstd, bounded by the same
// limit), and parsed as a JSON object where a route takes one.

import Foundation
import HTTPTypes
import Hummingbird
import KymaCompression
import Synchronization

enum RequestBodies {
    /// The body's bytes, decompressed.
    static func read(_ request: Request, settings: ServerSettings) async throws(ServerError) -> [UInt8] {
        let raw = try await collect(request.body, limit: settings.maxBodyBytes, stallSeconds: settings.bodyStallSeconds)
        let encoding = (request.headers[.contentEncoding] ?? "identity").lowercased().trimmingCharacters(in: .whitespaces)
        do {
            switch encoding {
            case "identity", "": return raw
            case "gzip", "x-gzip": return try Deflate.gunzip(raw, limit: settings.maxBodyBytes)
            case "zstd": return try ZstdStream.decompress(raw, limit: settings.maxBodyBytes)
            default:
                throw ServerError(.unsupportedMediaType, "Content-Encoding '\(encoding)' is not supported (identity, gzip or zstd)")
            }
        } catch let error as ServerError {
            throw error
        } catch CompressionError.tooLarge(let limit) {
            throw ServerError(.payloadTooLarge, "the body decompresses to more than \(limit) bytes")
        } catch {
            throw ServerError(.badRequest, "the body is not valid \(encoding): \(error)")
        }
    }

    /// Reads the whole body: over `limit` bytes is 413; `stallSeconds` without a byte is 408.
    static func collect(_ body: RequestBody, limit: Int, stallSeconds: Double) async throws(ServerError) -> [UInt8] {
        let progress = Progress()
        do {
            return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
                group.addTask {
                    var bytes: [UInt8] = []
                    for try await buffer in body {
                        guard bytes.count + buffer.readableBytes <= limit else {
                            throw ServerError(.payloadTooLarge, "the body is larger than the limit of \(limit) bytes")
                        }
                        bytes.append(contentsOf: buffer.readableBytesView)
                        progress.tick()
                    }
                    return bytes
                }
                group.addTask {
                    // The watchdog: wakes a few times per stall period and gives up when the body
                    // has not moved for a whole one.
                    let step = Duration.milliseconds(Int64(max(10, stallSeconds * 250)))
                    while true {
                        try await Task.sleep(for: step)
                        if progress.secondsSinceLast() > stallSeconds {
                            throw ServerError(.timeout, "the request body sent nothing for \(stallSeconds) s")
                        }
                    }
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let bytes = result { return bytes }
                }
                return []
            }
        } catch let error as ServerError {
            throw error
        } catch {
            throw ServerError(.badRequest, "the request body could not be read: \(error)")
        }
    }

    final class Progress: Sendable {
        private let last = Mutex(ContinuousClock.now)
        func tick() { last.withLock { $0 = .now } }
        func secondsSinceLast() -> Double {
            let elapsed = ContinuousClock.now - last.withLock { $0 }
            let (seconds, attoseconds) = elapsed.components
            return Double(seconds) + Double(attoseconds) / 1e18
        }
    }

    /// The body as one JSON object (an empty body is an empty object).
    static func jsonObject(_ bytes: [UInt8]) throws(ServerError) -> [String: Any] {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return [:] }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw ServerError(.badRequest, "the body is not valid JSON")
        }
        guard let object = value as? [String: Any] else { throw ServerError(.badRequest, "the body must be a JSON object") }
        return object
    }
}

/// Typed fields of a JSON request object, each a clear error when of the wrong type.
struct JSONFields {
    var object: [String: Any]
    /// Every key the route knows; any other is an error (a misspelt option never passes silently).
    var known: Set<String>

    init(_ object: [String: Any], known: Set<String>) throws(ServerError) {
        self.object = object
        self.known = known
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw ServerError(.badRequest, "unknown field '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    func string(_ key: String) throws(ServerError) -> String? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw ServerError(.badRequest, "field '\(key)' must be a string") }
        return text
    }

    func requiredString(_ key: String) throws(ServerError) -> String {
        guard let text = try string(key) else { throw ServerError(.badRequest, "field '\(key)' is required") }
        return text
    }

    func bool(_ key: String) throws(ServerError) -> Bool? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, Self.isBoolean(number) else {
            throw ServerError(.badRequest, "field '\(key)' must be true or false")
        }
        return number.boolValue
    }

    /// An integer within `range`.
    func int(_ key: String, in range: ClosedRange<Int>) throws(ServerError) -> Int? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, !Self.isBoolean(number) else {
            throw ServerError(.badRequest, "field '\(key)' must be an integer")
        }
        let double = number.doubleValue
        guard double.isFinite, double == double.rounded(), double >= Double(range.lowerBound), double <= Double(range.upperBound) else {
            throw ServerError(.badRequest, "field '\(key)' must be an integer within \(range.lowerBound)...\(range.upperBound)")
        }
        return Int(double)
    }

    /// A 64-bit integer, exactly (nanosecond times do not fit a double's 53 bits).
    func int64(_ key: String) throws(ServerError) -> Int64? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, !Self.isBoolean(number), String(cString: number.objCType) != "d" else {
            throw ServerError(.badRequest, "field '\(key)' must be an integer")
        }
        guard String(cString: number.objCType) != "Q" || number.uint64Value <= UInt64(Int64.max) else {
            throw ServerError(.badRequest, "field '\(key)' is out of range")
        }
        return number.int64Value
    }

    func double(_ key: String) throws(ServerError) -> Double? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, !Self.isBoolean(number), number.doubleValue.isFinite else {
            throw ServerError(.badRequest, "field '\(key)' must be a number")
        }
        return number.doubleValue
    }

    func strings(_ key: String) throws(ServerError) -> [String]? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let items = value as? [Any], let texts = items as? [String] else {
            throw ServerError(.badRequest, "field '\(key)' must be an array of strings")
        }
        return texts
    }

    func object(_ key: String) throws(ServerError) -> [String: Any]? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let inner = value as? [String: Any] else { throw ServerError(.badRequest, "field '\(key)' must be an object") }
        return inner
    }

    /// JSONSerialization gives booleans as NSNumbers of type char (`c`); numbers have another.
    static func isBoolean(_ number: NSNumber) -> Bool {
        number.objCType.pointee == CChar(UInt8(ascii: "c"))
    }

    /// A JSON array of numbers as float32s.
    func floats(_ key: String) throws(ServerError) -> [Float]? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let items = value as? [Any] else { throw ServerError(.badRequest, "field '\(key)' must be an array of numbers") }
        var out: [Float] = []
        out.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard let number = item as? NSNumber, !Self.isBoolean(number) else {
                throw ServerError(.badRequest, "field '\(key)' item \(index) is not a number")
            }
            out.append(number.floatValue)
        }
        return out
    }
}
