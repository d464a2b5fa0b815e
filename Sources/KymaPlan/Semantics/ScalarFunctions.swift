// The row-at-a-time meaning of every `ScalarFunction`: the executor's general path calls this
// for each row and constant folding for constant arguments, so a function means one thing.

import KymaCore

public enum ScalarFunctions {
    /// How many arguments `function` takes.
    public static func arity(_ function: ScalarFunction) -> ClosedRange<Int> {
        switch function {
        case .now: 0...0
        case .isNull, .isNotNull, .isEmpty, .isNotEmpty, .strlen, .toLower, .toUpper, .length, .floor, .ceil, .abs, .listSort: 1...1
        case .bin, .nullIf, .startsWith, .endsWith, .strContains, .left, .right, .strpos, .dateTrunc, .datePart, .listElement, .regexpFullMatch: 2...2
        case .iff, .replace: 3...3
        case .round: 1...2
        case .trim, .ltrim, .rtrim: 1...2
        case .substring: 2...3
        case .like, .ilike: 3...3
        case .regexpMatches: 2...3
        case .timeBucket, .timeBucketMonths: 2...3
        case .coalesce, .greatest, .least, .concat: 1...Int.max
        case .concatStrict: 2...2
        case .inSet: 1...Int.max
        }
    }

    /// Whether the result is a timespan given which arguments are (timespans pass through
    /// choices and rounding: `iff(c, 1h, 2h)`, `bin(5m, 1m)`, `coalesce(t, 0s)`).
    public static func resultIsTimespan(_ function: ScalarFunction, _ timespans: [Bool]) -> Bool {
        switch function {
        case .bin, .nullIf, .abs: timespans.first ?? false
        case .iff: timespans.count > 1 && timespans[1]
        case .coalesce, .greatest, .least: !timespans.isEmpty && timespans.allSatisfy { $0 }
        default: false
        }
    }

    /// `function` over one row's argument values. `timespans[i]` says argument i is a timespan.
    public static func apply(_ function: ScalarFunction, _ v: [ScalarValue], now: Int64, timespans: [Bool] = []) throws(QueryError) -> ScalarValue {
        func string(_ index: Int) -> String? { if case .string(let s) = v[index] { s } else { nil } }
        func integer(_ index: Int, _ what: String) throws(QueryError) -> Int64 {
            switch v[index] {
            case .int64(let n): return n
            case .float64(let d) where d == d.rounded() && abs(d) < 9.2e18: return Int64(d)
            default: throw .type("\(function.rawValue)() needs an integer \(what), got \(v[index])")
            }
        }
        func text(_ index: Int) -> String {
            if case .string(let s) = v[index] { return s }
            return ScalarCasts.sqlString(v[index])
        }
        func timestamp(_ index: Int) throws(QueryError) -> Int64 {
            switch v[index] {
            case .timestamp(let t): return t
            case .string(let s):
                guard let t = TimestampText.parse(s) else { throw .type("\(function.rawValue)() needs a datetime, got '\(s)'") }
                return t
            default: throw .type("\(function.rawValue)() needs a datetime, got \(v[index])")
            }
        }

        // Functions that look at nulls themselves.
        switch function {
        case .now: return .timestamp(now)
        case .isNull: return .bool(v[0] == .null)
        case .isNotNull: return .bool(v[0] != .null)
        case .isEmpty, .isNotEmpty:
            let empty: Bool
            switch v[0] {
            case .null: empty = true
            case .string(let s): empty = s.isEmpty
            default: empty = false
            }
            return .bool(empty == (function == .isEmpty))
        case .iff:
            if case .bool(true) = v[0] { return v[1] }
            return v[2]
        case .coalesce: return v.first { $0 != .null } ?? .null
        case .nullIf:
            guard v[0] != .null else { return .null }
            if v[1] != .null, ScalarCompare.order(v[0], v[1]) == 0 { return .null }
            return v[0]
        case .greatest, .least:
            var best: ScalarValue = .null
            for value in v where value != .null {
                guard best != .null else { best = value; continue }
                guard let order = ScalarCompare.order(value, best) else {
                    throw .type("\(function.rawValue)() over values that do not compare: \(value), \(best)")
                }
                if function == .greatest ? order > 0 : order < 0 { best = value }
            }
            return best
        case .concat:
            return .string(v.filter { $0 != .null }.map { value in
                if case .string(let s) = value { return s }
                return ScalarCasts.sqlString(value)
            }.joined())
        case .inSet:
            guard v[0] != .null else { return .null }
            var sawNull = false
            for item in v.dropFirst() {
                if item == .null { sawNull = true; continue }
                if ScalarCompare.order(v[0], item) == 0 { return .bool(true) }
            }
            return sawNull ? .null : .bool(false)
        case .like, .ilike:
            guard v[0] != .null, v[1] != .null else { return .null }
            let escape: String?
            switch v[2] {
            case .null: escape = nil
            case .string(let e): escape = e
            default: throw .type("the LIKE escape must be a string")
            }
            return .bool(try LikePattern(text(1), escape: escape, ignoreCase: function == .ilike).matches(text(0)))
        case .strlen:
            guard case .string(let s) = v[0] else {
                return v[0] == .null ? .null : .int64(Int64(ScalarCasts.kustoString(v[0], timespan: false).stringValue?.count ?? 0))
            }
            return .int64(Int64(s.count))
        case .toLower, .toUpper:
            guard case .string(let s) = v[0] else { return v[0] }
            return .string(function == .toLower ? s.lowercased() : s.uppercased())
        case .bin:
            return try ScalarArithmetic.bin(v[0], v[1])
        case .timeBucket, .timeBucketMonths:
            guard v[0] != .null, v[1] != .null else { return .null }
            let width = try integer(0, "bucket width")
            let t = try timestamp(1)
            var origin = function == .timeBucket ? TimeFunctions.defaultOrigin : TimeFunctions.defaultMonthOrigin
            if v.count > 2 {
                switch v[2] {
                case .null: return .null
                case .timestamp(let o): origin = o
                case .int64(let shift) where timespans.count > 2 && timespans[2]:
                    let (shifted, overflow) = origin.addingReportingOverflow(shift)
                    guard !overflow else { return .null }
                    origin = shifted
                default: origin = try timestamp(2)
                }
            }
            return function == .timeBucket ? try TimeFunctions.bucket(width: width, t, origin: origin)
                : try TimeFunctions.monthBucket(months: width, t, origin: origin)
        default:
            break
        }

        // The rest are null when any argument is.
        if v.contains(.null) { return .null }
        switch function {
        case .length: return .int64(Int64(text(0).unicodeScalars.count))
        case .substring:
            return .string(StringFunctions.substring(text(0), start: try integer(1, "start"), count: v.count > 2 ? try integer(2, "count") : nil))
        case .concatStrict: return .string(text(0) + text(1))
        case .trim, .ltrim, .rtrim:
            return .string(StringFunctions.trim(text(0), characters: v.count > 1 ? text(1) : " ",
                                                leading: function != .rtrim, trailing: function != .ltrim))
        case .startsWith: return .bool(text(0).utf8.starts(with: text(1).utf8))
        case .endsWith: return .bool(text(0).utf8.reversed().starts(with: text(1).utf8.reversed()))
        case .strContains:
            let haystack = Array(text(0).utf8), needle = Array(text(1).utf8)
            return .bool(needle.isEmpty || haystack.withUnsafeBufferPointer { h in
                needle.withUnsafeBufferPointer { n in ByteSearch.contains(h, n) }
            })
        case .replace: return .string(StringFunctions.replace(text(0), text(1), text(2)))
        case .left: return .string(StringFunctions.left(text(0), try integer(1, "count")))
        case .right: return .string(StringFunctions.right(text(0), try integer(1, "count")))
        case .strpos: return .int64(StringFunctions.position(of: text(1), in: text(0)))
        case .regexpMatches, .regexpFullMatch:
            let options = v.count > 2 ? text(2) : ""
            return .bool(try RegularExpression.cached(text(1), options: options).matches(text(0), whole: function == .regexpFullMatch))
        case .floor, .ceil:
            guard let x = ScalarArithmetic.number(v[0]) else { throw .type("\(function.rawValue)() needs a number, got \(v[0])") }
            return .float64(function == .floor ? x.rounded(.down) : x.rounded(.up))
        case .abs:
            switch v[0] {
            case .int64(let n):
                guard n != .min else { throw .type("integer overflow in abs(\(n))") }
                return .int64(Swift.abs(n))
            case .float64(let d): return .float64(Swift.abs(d))
            default: throw .type("abs() needs a number, got \(v[0])")
            }
        case .round:
            let digits = v.count > 1 ? try integer(1, "digit count") : 0
            switch v[0] {
            case .int64(let n) where digits >= 0: return .int64(n)
            default:
                guard let x = ScalarArithmetic.number(v[0]) else { throw .type("round() needs a number, got \(v[0])") }
                return .float64(DecimalRounding.round(x, digits: digits))
            }
        case .dateTrunc: return try TimeFunctions.truncate(text(0), try timestamp(1))
        case .datePart: return try TimeFunctions.part(text(0), try timestamp(1))
        case .listSort: return .string(try ListFunctions.sort(text(0)))
        case .listElement: return try ListFunctions.element(text(0), try integer(1, "index"))
        default:
            throw .internalError("function \(function.rawValue) has no row semantics")
        }
    }
}

extension ScalarValue {
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

/// Substring search over bytes (memchr for the first byte, then a compare).
public enum ByteSearch {
    public static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: UnsafeBufferPointer<UInt8>) -> Bool {
        guard needle.count > 0 else { return true }
        guard haystack.count >= needle.count else { return false }
        let first = needle[0]
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var k = 1
                while k < needle.count, haystack[i + k] == needle[k] { k += 1 }
                if k == needle.count { return true }
            }
            i += 1
        }
        return false
    }
}

/// `round(x, digits)` as DuckDB rounds doubles: half away from zero, judged on the exact
/// decimal value of the double (2.675 is 2.67499999..., so it rounds to 2.67; 0.125 is exact
/// and rounds to 0.13). Negative digits round to tens, hundreds... through the quotient.
public enum DecimalRounding {
    public static func round(_ x: Double, digits: Int64) -> Double {
        guard x.isFinite, x != 0 else { return x }
        if digits < 0 {
            var scale = 1.0
            for _ in 0..<Int(min(-digits, 308)) { scale *= 10 }
            let rounded = (x / scale).rounded(.toNearestOrAwayFromZero) * scale
            return rounded.isFinite ? rounded : 0
        }
        // Past 21 digits a double (17 significant digits) is already exact there.
        guard digits <= 21 else { return x }
        let magnitude = x.magnitude
        // magnitude = significand × 2^exponent, the significand an integer of at most 53 bits.
        let unitExponent = magnitude.isNormal ? Int(magnitude.exponent) - 52 : -1074
        let significand = UInt128(magnitude.isNormal ? magnitude.significandBitPattern | (1 << 52) : magnitude.significandBitPattern)
        guard unitExponent < 0 else { return x }  // an integer: nothing to round
        let shift = -unitExponent
        var power: UInt128 = 1
        for _ in 0..<digits { power *= 10 }
        let scaled = significand * power  // < 2^53 × 10^21 < 2^123
        guard shift < 124 else { return x < 0 ? -0.0 : 0.0 }  // below 0.5 at the last digit kept
        let whole = scaled >> UInt128(shift)
        let remainder = scaled & ((UInt128(1) << UInt128(shift)) - 1)
        let roundedUp = remainder >= (UInt128(1) << UInt128(shift - 1)) ? whole + 1 : whole
        let result = Double(roundedUp) / Double(power)
        return x < 0 ? -result : result
    }
}
