// Date and time functions with DuckDB's meaning, over nanoseconds since the epoch (UTC):
// `date_trunc`, `date_part`/`extract`, `time_bucket` by a fixed width or by months.

import KymaCore

public enum TimeFunctions {
    static let nanosPerSecond: Int64 = 1_000_000_000
    static let nanosPerDay: Int64 = 86_400 * nanosPerSecond
    /// DuckDB's default origin for buckets narrower than a month: 2000-01-03 00:00 (a Monday).
    public static let defaultOrigin: Int64 = CivilDate.days(year: 2000, month: 1, day: 3) * 86_400 * 1_000_000_000
    /// ... and for buckets of months: 2000-01-01.
    public static let defaultMonthOrigin: Int64 = CivilDate.days(year: 2000, month: 1, day: 1) * 86_400 * 1_000_000_000

    struct Civil {
        var days: Int64
        var year: Int64, month: Int64, day: Int64
        var nanosOfDay: Int64

        init(_ nanos: Int64) {
            days = ScalarArithmetic.floorMultiple(nanos, TimeFunctions.nanosPerDay) / TimeFunctions.nanosPerDay
            nanosOfDay = nanos &- days &* TimeFunctions.nanosPerDay
            (year, month, day) = CivilDate.date(days: days)
        }
    }

    static func timestamp(days: Int64, nanosOfDay: Int64 = 0) -> ScalarValue {
        let (scaled, overflow) = days.multipliedReportingOverflow(by: nanosPerDay)
        guard !overflow else { return .null }
        let (sum, overflowSum) = scaled.addingReportingOverflow(nanosOfDay)
        return overflowSum ? .null : .timestamp(sum)
    }

    /// `date_trunc(part, t)`.
    public static func truncate(_ part: String, _ nanos: Int64) throws(QueryError) -> ScalarValue {
        let c = Civil(nanos)
        switch part.lowercased() {
        case "year", "years", "y": return timestamp(days: CivilDate.days(year: c.year, month: 1, day: 1))
        case "quarter", "quarters": return timestamp(days: CivilDate.days(year: c.year, month: (c.month - 1) / 3 * 3 + 1, day: 1))
        case "month", "months", "mon": return timestamp(days: CivilDate.days(year: c.year, month: c.month, day: 1))
        case "week", "weeks", "w":
            let sinceMonday = (CivilDate.weekday(days: c.days) + 6) % 7
            return timestamp(days: c.days - sinceMonday)
        case "day", "days", "d", "dayofmonth": return timestamp(days: c.days)
        case "hour", "hours", "h": return .timestamp(ScalarArithmetic.floorMultiple(nanos, 3_600 * nanosPerSecond))
        case "minute", "minutes", "m": return .timestamp(ScalarArithmetic.floorMultiple(nanos, 60 * nanosPerSecond))
        case "second", "seconds", "s": return .timestamp(ScalarArithmetic.floorMultiple(nanos, nanosPerSecond))
        case "millisecond", "milliseconds", "ms": return .timestamp(ScalarArithmetic.floorMultiple(nanos, 1_000_000))
        case "microsecond", "microseconds", "us": return .timestamp(ScalarArithmetic.floorMultiple(nanos, 1_000))
        default: throw .type("unknown date part '\(part)' (year, quarter, month, week, day, hour, minute, second, millisecond, microsecond)")
        }
    }

    /// `date_part(part, t)` / `extract(part FROM t)`.
    public static func part(_ part: String, _ nanos: Int64) throws(QueryError) -> ScalarValue {
        let c = Civil(nanos)
        let secondOfDay = c.nanosOfDay / nanosPerSecond
        let nanosOfMinute = c.nanosOfDay % (60 * nanosPerSecond)
        switch part.lowercased() {
        case "year", "years", "y": return .int64(c.year)
        case "quarter", "quarters": return .int64((c.month - 1) / 3 + 1)
        case "month", "months", "mon": return .int64(c.month)
        case "day", "days", "d", "dayofmonth": return .int64(c.day)
        case "hour", "hours", "h": return .int64(secondOfDay / 3600)
        case "minute", "minutes", "m": return .int64(secondOfDay / 60 % 60)
        case "second", "seconds", "s": return .int64(secondOfDay % 60)
        case "millisecond", "milliseconds", "ms": return .int64(nanosOfMinute / 1_000_000)
        case "microsecond", "microseconds", "us": return .int64(nanosOfMinute / 1_000)
        case "nanosecond", "nanoseconds", "ns": return .int64(nanosOfMinute)
        case "epoch": return .float64(Double(nanos) / 1e9)
        case "dow", "dayofweek", "weekday": return .int64(CivilDate.weekday(days: c.days))
        case "isodow": return .int64((CivilDate.weekday(days: c.days) + 6) % 7 + 1)
        case "doy", "dayofyear": return .int64(c.days - CivilDate.days(year: c.year, month: 1, day: 1) + 1)
        case "week", "weeks", "w", "weekofyear": return .int64(isoWeek(c.days).week)
        case "isoyear": return .int64(isoWeek(c.days).year)
        default:
            throw .type("unknown date part '\(part)' (year, quarter, month, day, hour, minute, second, millisecond, microsecond, epoch, dow, isodow, doy, week, isoyear)")
        }
    }

    /// ISO 8601 week and week-numbering year of a day.
    static func isoWeek(_ days: Int64) -> (year: Int64, week: Int64) {
        let isoWeekday = (CivilDate.weekday(days: days) + 6) % 7  // Monday 0
        let thursday = days - isoWeekday + 3
        let year = CivilDate.date(days: thursday).year
        let firstOfYear = CivilDate.days(year: year, month: 1, day: 1)
        return (year, (thursday - firstOfYear) / 7 + 1)
    }

    /// `time_bucket(width, t, origin)`: origin + ⌊(t − origin) / width⌋ · width; null on overflow.
    public static func bucket(width: Int64, _ nanos: Int64, origin: Int64) throws(QueryError) -> ScalarValue {
        guard width > 0 else { throw .type("time_bucket width must be positive") }
        let (offset, overflow) = nanos.subtractingReportingOverflow(origin)
        guard !overflow else { return .null }
        let (start, overflowStart) = origin.addingReportingOverflow(ScalarArithmetic.floorMultiple(offset, width))
        return overflowStart ? .null : .timestamp(start)
    }

    /// `time_bucket` by whole months from the month of `origin`.
    public static func monthBucket(months: Int64, _ nanos: Int64, origin: Int64) throws(QueryError) -> ScalarValue {
        guard months > 0 else { throw .type("time_bucket width must be positive") }
        let c = Civil(nanos), o = Civil(origin)
        let index = (c.year * 12 + c.month - 1) - (o.year * 12 + o.month - 1)
        let start = o.year * 12 + o.month - 1 + ScalarArithmetic.floorMultiple(index, months)
        let year = start >= 0 ? start / 12 : (start - 11) / 12
        return timestamp(days: CivilDate.days(year: year, month: start - year * 12 + 1, day: 1))
    }
}
