// Primary SQL expressions: literals, names, parentheses, CASE, CAST, EXTRACT, INTERVAL and
// TIMESTAMP literals, and function calls with DISTINCT, FILTER and WITHIN GROUP.

import KymaCore
import KymaPlan

extension SQLParser {
    mutating func primary() throws(QueryError) -> SQLExpr {
        let token = current
        switch token.kind {
        case .integer(let digits):
            advance()
            guard let value = Int64(digits) else { throw semantic("integer literal \(digits) is out of the 64-bit range", at: token) }
            return .literal(.int64(value))
        case .real(let value):
            advance()
            return .literal(.float64(value))
        case .string(let text):
            advance()
            return .literal(.string(text))
        case .symbol("("):
            advance()
            if isKeyword("SELECT") || isKeyword("WITH") { throw semantic("subqueries in expressions are not supported (only in FROM)") }
            let inner = try expression()
            if isSymbol(",") { throw semantic("row values are not supported") }
            try expect(")")
            return inner
        case .quoted(let name):
            advance()
            return try qualified(name, at: token)
        case .word(let word):
            return try wordExpression(word, token)
        case .symbol("*"):
            throw fail("an expression (* only stands alone in the select list or in count(*))")
        default:
            throw fail("an expression: a column, number, string or function call")
        }
    }

    mutating func qualified(_ name: String, at token: SQLToken) throws(QueryError) -> SQLExpr {
        guard accept(".") else { return .column(qualifier: nil, name: name, at: token.position) }
        let column = try self.name("a column name after '\(name).'")
        if isSymbol(".") { throw semantic("names with more than one qualifier are not supported") }
        return .column(qualifier: name, name: column, at: token.position)
    }

    mutating func wordExpression(_ word: String, _ token: SQLToken) throws(QueryError) -> SQLExpr {
        let upper = word.uppercased()
        switch upper {
        case "TRUE": advance(); return .literal(.bool(true))
        case "FALSE": advance(); return .literal(.bool(false))
        case "NULL": advance(); return .literal(.null)
        case "CASE": advance(); return try caseExpression()
        case "CAST", "TRY_CAST":
            advance()
            try expect("(")
            let value = try expression()
            try expectKeyword("AS")
            let type = try typeName()
            try expect(")")
            return .cast(value, type: type, isTry: upper == "TRY_CAST", at: token.position)
        case "EXTRACT":
            advance()
            try expect("(")
            guard let part = current.keyword ?? { if case .string(let s) = current.kind { s.uppercased() } else { nil } }() else {
                throw fail("a date part such as year, month, hour")
            }
            advance()
            try expectKeyword("FROM")
            let value = try expression()
            try expect(")")
            return .extract(part.lowercased(), value)
        case "INTERVAL":
            advance()
            return .interval(try intervalLiteral(at: token))
        case "TIMESTAMP", "DATE", "DATETIME", "TIMESTAMPTZ":
            if case .string(let text) = next.kind {
                advance()
                advance()
                switch TimestampText.read(text.trimmingWhitespace, form: .literal) {
                case .nanos(let nanos):
                    if upper == "DATE", nanos % 86_400_000_000_000 != 0 { throw semantic("DATE '\(text)' has a time of day", at: token) }
                    return .literal(.timestamp(nanos))
                case .outOfRange: throw semantic("\(upper) '\(text)' is outside the range of timestamps (1677-09-21 to 2262-04-11)", at: token)
                case .malformed: throw semantic("\(upper) '\(text)' is not a date or timestamp such as '2024-01-31 12:00:00'", at: token)
                }
            }
        case "CURRENT_TIMESTAMP", "LOCALTIMESTAMP":
            advance()
            if accept("(") { try expect(")") }
            return .function(SQLCall(name: "now", arguments: [], distinct: false, filter: nil, withinGroup: nil, at: token.position))
        case "EXISTS":
            throw semantic("EXISTS (subquery) is not supported")
        default:
            break
        }
        // LEFT and RIGHT are join words, and functions too.
        if Self.reserved.contains(upper), !(["LEFT", "RIGHT"].contains(upper) && next.kind == .symbol("(")) {
            throw fail("an expression: a column, number, string or function call")
        }
        advance()
        if isSymbol("(") { return try call(word, at: token) }
        if case .string = current.kind { throw semantic("typed literals other than TIMESTAMP and DATE are not supported: use CAST('...' AS type)", at: token) }
        return try qualified(word, at: token)
    }

    mutating func caseExpression() throws(QueryError) -> SQLExpr {
        try enter()
        defer { depth -= 1 }
        var operand: SQLExpr? = nil
        if !isKeyword("WHEN") { operand = try expression() }
        var branches: [SQLWhen] = []
        while acceptKeyword("WHEN") {
            let condition = try expression()
            try expectKeyword("THEN")
            branches.append(SQLWhen(condition: condition, result: try expression()))
        }
        guard !branches.isEmpty else { throw fail("WHEN") }
        var otherwise: SQLExpr? = nil
        if acceptKeyword("ELSE") { otherwise = try expression() }
        try expectKeyword("END")
        return .caseWhen(operand: operand, branches: branches, otherwise: otherwise)
    }

    /// `INTERVAL 5 MINUTE`, `INTERVAL '5 minutes'`, `INTERVAL '1 day 2 hours'`, `INTERVAL '90' SECOND`,
    /// `INTERVAL (x) HOUR` is not supported (the amount must be a literal).
    mutating func intervalLiteral(at token: SQLToken) throws(QueryError) -> SQLInterval {
        var amountText: String
        switch current.kind {
        case .integer(let digits): amountText = digits
        case .real(let value): amountText = String(value)
        case .string(let text): amountText = text
        case .symbol("-"):
            advance()
            guard case .integer(let digits) = current.kind else { throw fail("a number after INTERVAL -") }
            amountText = "-" + digits
        default: throw fail("an interval amount such as 5 or '5 minutes'")
        }
        advance()
        if let unit = current.keyword, SQLIntervals.unit(unit) != nil {
            advance()
            amountText += " " + unit
        }
        guard let interval = SQLIntervals.parse(amountText) else {
            throw semantic("'\(amountText)' is not an interval such as 5 MINUTE or '1 day 2 hours'", at: token)
        }
        return interval
    }

    mutating func call(_ name: String, at token: SQLToken) throws(QueryError) -> SQLExpr {
        try enter()
        defer { depth -= 1 }
        try expect("(")
        let lower = name.lowercased()
        var call = SQLCall(name: lower, arguments: [], distinct: false, filter: nil, withinGroup: nil, at: token.position)
        // Forms with keywords between the arguments.
        switch lower {
        case "substring" where !isSymbol(")"):
            let value = try expression()
            call.arguments = [value]
            if acceptKeyword("FROM") {
                call.arguments.append(try expression())
                if acceptKeyword("FOR") { call.arguments.append(try expression()) }
                try expect(")")
                return try afterCall(call)
            }
            while accept(",") { call.arguments.append(try expression()) }
            try expect(")")
            return try afterCall(call)
        case "position" where !isSymbol(")"):
            let needle = try concatenation()
            if acceptKeyword("IN") {
                let haystack = try expression()
                try expect(")")
                call.name = "strpos"
                call.arguments = [haystack, needle]
                return try afterCall(call)
            }
            call.arguments = [needle]
            while accept(",") { call.arguments.append(try expression()) }
            try expect(")")
            return try afterCall(call)
        case "trim":
            var mode = "trim"
            if acceptKeyword("BOTH") { mode = "trim" } else if acceptKeyword("LEADING") { mode = "ltrim" } else if acceptKeyword("TRAILING") { mode = "rtrim" }
            var characters: SQLExpr? = nil
            if !isKeyword("FROM") && !isSymbol(")") { characters = try expression() }
            if acceptKeyword("FROM") {
                let value = try expression()
                try expect(")")
                call.name = mode
                call.arguments = [value] + (characters.map { [$0] } ?? [])
                return try afterCall(call)
            }
            call.name = mode
            if let characters { call.arguments = [characters] }
            while accept(",") { call.arguments.append(try expression()) }
            try expect(")")
            return try afterCall(call)
        default:
            break
        }
        if acceptKeyword("DISTINCT") { call.distinct = true } else { _ = acceptKeyword("ALL") }
        if accept("*") {
            call.arguments = [.star]
        } else if !isSymbol(")") {
            repeat { call.arguments.append(try expression()) } while accept(",")
        }
        if isKeyword("ORDER") { throw semantic("ORDER BY inside an aggregate is not supported (use WITHIN GROUP for percentiles)") }
        try expect(")")
        return try afterCall(call)
    }

    /// `WITHIN GROUP (ORDER BY x)`, `FILTER (WHERE c)`; `OVER` is refused.
    mutating func afterCall(_ call: SQLCall) throws(QueryError) -> SQLExpr {
        var call = call
        if acceptKeyword("WITHIN") {
            try expectKeyword("GROUP")
            try expect("(")
            try expectKeyword("ORDER")
            try expectKeyword("BY")
            call.withinGroup = try orderItem()
            try expect(")")
        }
        if acceptKeyword("FILTER") {
            try expect("(")
            try expectKeyword("WHERE")
            call.filter = try expression()
            try expect(")")
        }
        if isKeyword("OVER") { throw semantic("window functions (OVER) are not supported") }
        return .function(call)
    }
}

/// Interval text: amounts with units, as DuckDB reads them (`5 minutes`, `1 day 2 hours`,
/// `1h30m`, `90 second`). Months and years are calendar units; the rest fixed nanoseconds.
enum SQLIntervals {
    enum Unit { case nanos(Int64), months(Int64) }

    static func unit(_ word: String) -> Unit? {
        switch word.lowercased() {
        case "ns", "nanosecond", "nanoseconds": .nanos(1)
        case "us", "microsecond", "microseconds": .nanos(1_000)
        case "ms", "millisecond", "milliseconds", "msec", "msecs": .nanos(1_000_000)
        case "s", "sec", "secs", "second", "seconds": .nanos(1_000_000_000)
        case "m", "min", "mins", "minute", "minutes": .nanos(60_000_000_000)
        case "h", "hr", "hrs", "hour", "hours": .nanos(3_600_000_000_000)
        case "d", "day", "days": .nanos(86_400_000_000_000)
        case "w", "week", "weeks": .nanos(7 * 86_400_000_000_000)
        case "mon", "mons", "month", "months": .months(1)
        case "y", "yr", "yrs", "year", "years": .months(12)
        case "quarter", "quarters": .months(3)
        default: nil
        }
    }

    static func parse(_ text: String) -> SQLInterval? {
        var interval = SQLInterval(months: 0, nanos: 0)
        let scalars = Array(text.lowercased().unicodeScalars)
        var i = 0
        var sawAny = false
        func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
        while i < scalars.count {
            while i < scalars.count, scalars[i] == " " { i += 1 }
            guard i < scalars.count else { break }
            var number = ""
            if scalars[i] == "-" || scalars[i] == "+" { number.unicodeScalars.append(scalars[i]); i += 1 }
            while i < scalars.count, isDigit(scalars[i]) || scalars[i] == "." { number.unicodeScalars.append(scalars[i]); i += 1 }
            while i < scalars.count, scalars[i] == " " { i += 1 }
            var word = ""
            while i < scalars.count, scalars[i] >= "a", scalars[i] <= "z" { word.unicodeScalars.append(scalars[i]); i += 1 }
            guard let amount = Double(number), amount.isFinite, let unit = unit(word.isEmpty ? "second" : word) else { return nil }
            switch unit {
            case .nanos(let scale):
                let nanos = (amount * Double(scale)).rounded()
                guard abs(nanos) < 9.2e18 else { return nil }
                let (sum, overflow) = interval.nanos.addingReportingOverflow(Int64(nanos))
                guard !overflow else { return nil }
                interval.nanos = sum
            case .months(let scale):
                guard amount == amount.rounded(), abs(amount) < 1e6 else { return nil }
                interval.months += Int64(amount) * scale
            }
            sawAny = true
        }
        return sawAny ? interval : nil
    }
}
