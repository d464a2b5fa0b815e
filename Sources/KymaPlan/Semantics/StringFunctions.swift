// String functions with DuckDB's meaning: positions and lengths count Unicode code points,
// LIKE matches code points with `%` and `_` and an optional escape, comparisons are byte-wise.

import KymaCore

public enum StringFunctions {
    /// DuckDB `substring(s, start [, count])` (1-based; see `ScalarFunction.substring`).
    public static func substring(_ text: String, start: Int64, count: Int64?) -> String {
        let scalars = Array(text.unicodeScalars)
        let n = Int64(scalars.count)
        // Positions are 1...n; position 0 stands before the first.
        let begin: Int64 = start > 0 ? start : (start == 0 ? 0 : n &+ start &+ 1)
        var low: Int64, high: Int64  // the half-open range [low, high) of positions taken
        if let count {
            if count >= 0 {
                low = begin
                let (sum, overflow) = begin.addingReportingOverflow(count)
                high = overflow ? .max : sum
            } else {
                let (sum, overflow) = begin.addingReportingOverflow(count)
                low = overflow ? .min : sum
                high = begin
            }
        } else {
            low = begin
            high = .max
        }
        low = max(low, 1)
        high = min(high, n + 1)
        guard low < high else { return "" }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[Int(low - 1)..<Int(high - 1)])
        return String(view)
    }

    /// `left(s, n)`: the first n code points; a negative n drops the last -n.
    public static func left(_ text: String, _ count: Int64) -> String {
        let scalars = Array(text.unicodeScalars)
        let keep = count >= 0 ? min(Int64(scalars.count), count) : max(0, Int64(scalars.count) + max(count, -Int64(scalars.count)))
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[0..<Int(keep)])
        return String(view)
    }

    /// `right(s, n)`: the last n code points; a negative n drops the first -n.
    public static func right(_ text: String, _ count: Int64) -> String {
        let scalars = Array(text.unicodeScalars)
        let keep = count >= 0 ? min(Int64(scalars.count), count) : max(0, Int64(scalars.count) + max(count, -Int64(scalars.count)))
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[(scalars.count - Int(keep))...])
        return String(view)
    }

    /// `trim`, `ltrim`, `rtrim`: removes any of `characters` (code points) from the chosen ends.
    public static func trim(_ text: String, characters: String, leading: Bool, trailing: Bool) -> String {
        let drop = Set(characters.unicodeScalars)
        var scalars = Array(text.unicodeScalars)[...]
        if leading { while let first = scalars.first, drop.contains(first) { scalars = scalars.dropFirst() } }
        if trailing { while let last = scalars.last, drop.contains(last) { scalars = scalars.dropLast() } }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// 1-based code-point position of the first `needle` in `text`; 0 when absent.
    public static func position(of needle: String, in text: String) -> Int64 {
        let t = Array(text.unicodeScalars), n = Array(needle.unicodeScalars)
        if n.isEmpty { return 1 }
        guard n.count <= t.count else { return 0 }
        for start in 0...(t.count - n.count) where t[start] == n[0] {
            if Array(t[start..<start + n.count]) == n { return Int64(start + 1) }
        }
        return 0
    }

    /// Every occurrence of `from` replaced by `to` (an empty `from` changes nothing).
    public static func replace(_ text: String, _ from: String, _ to: String) -> String {
        guard !from.isEmpty else { return text }
        let t = Array(text.utf8), f = Array(from.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(t.count)
        var i = 0
        while i < t.count {
            if i + f.count <= t.count, t[i] == f[0], t[i..<i + f.count].elementsEqual(f) {
                out.append(contentsOf: to.utf8)
                i += f.count
            } else {
                out.append(t[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: - LIKE

    /// SQL LIKE: `%` any run, `_` one code point, `escape` (one character) makes the next
    /// character literal. A pattern ending in the escape character is an error, as in DuckDB.
    public static func like(_ text: String, _ pattern: String, escape: String?, ignoreCase: Bool) throws(QueryError) -> Bool {
        let compiled = try LikePattern(pattern, escape: escape, ignoreCase: ignoreCase)
        return compiled.matches(text)
    }
}

/// A LIKE pattern taken apart once: literal code points, `_` and `%`.
public struct LikePattern: Sendable {
    enum Token: Equatable, Sendable {
        case scalar(UInt32)
        case one
        case many
    }

    let tokens: [Token]
    let ignoreCase: Bool

    public init(_ pattern: String, escape: String?, ignoreCase: Bool) throws(QueryError) {
        var escapeScalar: UInt32? = nil
        if let escape, !escape.isEmpty {
            let scalars = Array(escape.unicodeScalars)
            guard scalars.count == 1 else { throw .type("the LIKE escape must be a single character, not '\(escape)'") }
            escapeScalar = scalars[0].value
        }
        let source = ignoreCase ? pattern.lowercased() : pattern
        var out: [Token] = []
        var escaped = false
        for scalar in source.unicodeScalars {
            let c = scalar.value
            if escaped {
                out.append(.scalar(c))
                escaped = false
            } else if c == escapeScalar {
                escaped = true
            } else if c == 0x25 {
                if out.last != .many { out.append(.many) }
            } else if c == 0x5F {
                out.append(.one)
            } else {
                out.append(.scalar(c))
            }
        }
        guard !escaped else { throw .type("a LIKE pattern must not end with the escape character: '\(pattern)'") }
        tokens = out
        self.ignoreCase = ignoreCase
    }

    /// The literal prefix before the first wildcard, and whether that is the whole pattern
    /// followed by one `%` (`abc%`: a prefix test the pruning cascade can use).
    public var prefix: (text: String, isWholePatternPrefix: Bool) {
        var view = String.UnicodeScalarView()
        var index = 0
        while index < tokens.count, case .scalar(let c) = tokens[index], let scalar = Unicode.Scalar(c) {
            view.append(scalar)
            index += 1
        }
        return (String(view), !ignoreCase && index == tokens.count - 1 && tokens[index] == .many)
    }

    /// Greedy matching with one backtrack point per `%`: O(text × pattern) at worst.
    public func matches(_ text: String) -> Bool {
        let t = Array((ignoreCase ? text.lowercased() : text).unicodeScalars.map(\.value))
        var ti = 0, pi = 0
        var starPattern = -1, starText = 0
        while ti < t.count {
            if pi < tokens.count {
                switch tokens[pi] {
                case .many:
                    starPattern = pi
                    starText = ti
                    pi += 1
                    continue
                case .one:
                    ti += 1
                    pi += 1
                    continue
                case .scalar(let c) where c == t[ti]:
                    ti += 1
                    pi += 1
                    continue
                default: break
                }
            }
            guard starPattern >= 0 else { return false }
            pi = starPattern + 1
            starText += 1
            ti = starText
        }
        while pi < tokens.count, tokens[pi] == .many { pi += 1 }
        return pi == tokens.count
    }
}
