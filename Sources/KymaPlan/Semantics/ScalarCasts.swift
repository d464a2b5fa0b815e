// Conversions between value types (`Expr.cast`): Kusto's to*() functions and SQL's CAST with
// DuckDB's rules. One place for every text form a conversion produces or reads.

import KymaCore

public enum ScalarCasts {
    /// `value` converted to `target` by `mode`'s rules. `isTimespan` says the value is a Kusto
    /// timespan (an int64 of nanoseconds), which Kusto's `tostring` prints as `hh:mm:ss`.
    public static func cast(_ value: ScalarValue, to target: CastTarget, mode: CastMode, isTimespan: Bool = false) throws(QueryError) -> ScalarValue {
        if mode == .kusto { return kusto(value, to: target, isTimespan: isTimespan) }
        if value == .null { return .null }
        if let converted = sql(value, to: target) { return converted }
        if mode == .sqlTry { return .null }
        throw .type("cannot cast \(render(value)) to \(sqlName(target))")
    }

    public static func sqlName(_ target: CastTarget) -> String {
        switch target {
        case .bool: "BOOLEAN"
        case .int32: "INTEGER"
        case .int64: "BIGINT"
        case .float64: "DOUBLE"
        case .string: "VARCHAR"
        case .timestamp: "TIMESTAMP"
        }
    }

    static func render(_ value: ScalarValue) -> String {
        if case .string(let s) = value { return "'\(s)'" }
        return JSONValue.render(value)
    }

    // MARK: - Kusto

    static func kusto(_ value: ScalarValue, to target: CastTarget, isTimespan: Bool) -> ScalarValue {
        switch target {
        case .string: return kustoString(value, timespan: isTimespan)
        case .int64, .int32:
            switch value {
            case .int64: return value
            case .float64(let v): return v.isFinite && abs(v) < 9.2e18 ? .int64(Int64(v.rounded(.towardZero))) : .null
            case .bool(let b): return .int64(b ? 1 : 0)
            case .timestamp(let v): return .int64(v)
            case .string(let s):
                let t = s.trimmingSpaces
                if let v = Int64(t) { return .int64(v) }
                if let d = Double(t), d.isFinite, abs(d) < 9.2e18 { return .int64(Int64(d.rounded(.towardZero))) }
                return .null
            default: return .null
            }
        case .float64:
            switch value {
            case .int64(let v): return .float64(Double(v))
            case .float64: return value
            case .bool(let b): return .float64(b ? 1 : 0)
            case .timestamp(let v): return .float64(Double(v))
            case .string(let s): return Double(s.trimmingSpaces).map { .float64($0) } ?? .null
            default: return .null
            }
        case .bool:
            switch value {
            case .bool: return value
            case .int64(let v): return .bool(v != 0)
            case .string(let s):
                switch s.trimmingSpaces.lowercased() {
                case "true", "1": return .bool(true)
                case "false", "0": return .bool(false)
                default: return .null
                }
            default: return .null
            }
        case .timestamp:
            switch value {
            case .timestamp: return value
            case .string(let s): return TimestampText.parse(s.trimmingSpaces).map { .timestamp($0) } ?? .null
            default: return .null
            }
        }
    }

    /// Kusto `tostring`: null is the empty string.
    public static func kustoString(_ value: ScalarValue, timespan: Bool) -> ScalarValue {
        switch value {
        case .null: return .string("")
        case .string: return value
        case .bool(let b): return .string(b ? "true" : "false")
        case .int64(let v): return .string(timespan ? TimeText.timespan(v) : String(v))
        case .float64(let v): return .string(NumberText.real(v))
        case .timestamp(let v): return .string(TimeText.rfc3339(v))
        case .binary(let v): return .string(String(decoding: v, as: UTF8.self))
        }
    }

    // MARK: - SQL (DuckDB)

    /// The converted value, or nil when it does not convert.
    static func sql(_ value: ScalarValue, to target: CastTarget) -> ScalarValue? {
        switch target {
        case .string: return .string(sqlString(value))
        case .int64, .int32:
            let result: Int64?
            switch value {
            case .int64(let v): result = v
            case .bool(let b): result = b ? 1 : 0
            // DuckDB: a DOUBLE rounds half to even, text half away from zero.
            case .float64(let v): result = roundedInteger(v, .toNearestOrEven)
            case .string(let s):
                let t = s.trimmingWhitespace
                if let v = Int64(t) { result = v } else { result = Double(t).flatMap { roundedInteger($0, .toNearestOrAwayFromZero) } }
            default: result = nil
            }
            guard let result else { return nil }
            if target == .int32, result < Int64(Int32.min) || result > Int64(Int32.max) { return nil }
            return .int64(result)
        case .float64:
            switch value {
            case .int64(let v): return .float64(Double(v))
            case .float64: return value
            case .bool(let b): return .float64(b ? 1 : 0)
            case .string(let s): return Double(s.trimmingWhitespace).map { .float64($0) }
            default: return nil
            }
        case .bool:
            switch value {
            case .bool: return value
            case .int64(let v): return .bool(v != 0)
            case .float64(let v): return .bool(v != 0)
            case .string(let s):
                switch s.trimmingWhitespace.lowercased() {
                case "true", "t", "1", "yes", "y", "on": return .bool(true)
                case "false", "f", "0", "no", "n", "off": return .bool(false)
                default: return nil
                }
            default: return nil
            }
        case .timestamp:
            switch value {
            case .timestamp: return value
            case .string(let s): return TimestampText.parse(s.trimmingWhitespace).map { .timestamp($0) }
            default: return nil
            }
        }
    }

    /// `v` rounded by `rule`; nil outside Int64.
    static func roundedInteger(_ v: Double, _ rule: FloatingPointRoundingRule) -> Int64? {
        let r = v.rounded(rule)
        guard r.isFinite, r >= -9.223372036854775808e18, r < 9.223372036854775808e18 else { return nil }
        return Int64(r)
    }

    /// DuckDB's VARCHAR of a value.
    public static func sqlString(_ value: ScalarValue) -> String {
        switch value {
        case .null: return "NULL"
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .int64(let v): return String(v)
        case .float64(let v): return sqlReal(v)
        case .timestamp(let v): return TimestampText.sql(v)
        case .binary(let v): return String(decoding: v, as: UTF8.self)
        }
    }

    /// A double as DuckDB (and Python's repr) prints it: the shortest digits that round-trip,
    /// positional from 1e-4 up to 1e16 with at least one fractional digit, else `1e+16`, `2.5e-05`.
    public static func sqlReal(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        if v == 0 { return v.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description has the shortest round-trip digits; take them apart.
        var text = String(v.magnitude)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let whole = String(parts[0]), fraction = parts.count > 1 ? String(parts[1]) : ""
        var digits = whole + fraction
        var pointAt = whole.count + exponent  // digits[0..<pointAt] are the integer part
        while digits.count > 1, digits.hasPrefix("0") { digits.removeFirst(); pointAt -= 1 }
        while digits.count > 1, digits.hasSuffix("0") { digits.removeLast() }
        let decimalExponent = pointAt - 1
        let sign = v < 0 ? "-" : ""
        if decimalExponent >= -4 && decimalExponent < 16 {
            if pointAt <= 0 { return sign + "0." + String(repeating: "0", count: -pointAt) + digits }
            if pointAt >= digits.count { return sign + digits + String(repeating: "0", count: pointAt - digits.count) + ".0" }
            let split = digits.index(digits.startIndex, offsetBy: pointAt)
            return sign + digits[..<split] + "." + digits[split...]
        }
        let mantissa = digits.count == 1 ? digits : String(digits.prefix(1)) + "." + digits.dropFirst()
        let e = abs(decimalExponent)
        return sign + mantissa + "e" + (decimalExponent < 0 ? "-" : "+") + (e < 10 ? "0" : "") + String(e)
    }
}

extension String {
    /// Without leading and trailing spaces (Kusto's conversions trim spaces only).
    public var trimmingSpaces: String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }

    /// Without leading and trailing whitespace (space, tab, newlines), as DuckDB's casts read text.
    public var trimmingWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(self.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
