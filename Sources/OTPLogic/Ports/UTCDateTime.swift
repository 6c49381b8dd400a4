/// A Unix time as a UTC calendar date and time of day, by arithmetic (no `gmtime_r`, which takes
/// glibc's time zone lock, and no Foundation): for log timestamps and SigV4's `X-Amz-Date`.
public struct UTCDateTime: Sendable, Equatable {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int

    public init(secondsSinceEpoch seconds: Int64) {
        let (days, secondOfDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let (dayCount, second) = secondOfDay < 0 ? (days - 1, secondOfDay + 86_400) : (days, secondOfDay)
        // Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `civil_from_days`:
        // 400-year eras of 146,097 days, years that start on 1 March).
        let shifted = Int(dayCount) + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        hour = Int(second / 3600)
        minute = Int(second / 60 % 60)
        self.second = Int(second % 60)
    }
}
