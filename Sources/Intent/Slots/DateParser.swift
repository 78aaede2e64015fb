/// Reads spoken dates: "today", "tomorrow", "the day after tomorrow", "in 3 days", "next friday",
/// "on monday", "march 3rd", "the third of march", "3 march 2027".
public enum DateParser {
    static let months: [String: Int] = [
        "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
        "september": 9, "october": 10, "november": 11, "december": 12,
        "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
    ]

    /// The date for exactly these tokens, or nil.
    public static func parse(_ span: ArraySlice<String>) -> DateSpec? {
        var t = Array(span)
        if t.first == "on" { t.removeFirst() }
        guard !t.isEmpty else { return nil }
        switch t {
        case ["today"], ["todays"]: return .relativeDays(0)
        case ["tomorrow"], ["tomorrows"]: return .relativeDays(1)
        case ["yesterday"], ["yesterdays"]: return .relativeDays(-1)
        case ["the", "day", "after", "tomorrow"], ["day", "after", "tomorrow"]: return .relativeDays(2)
        case ["the", "day", "before", "yesterday"], ["day", "before", "yesterday"]: return .relativeDays(-2)
        case ["next", "week"], ["in", "a", "week"], ["a", "week", "from", "today"]: return .relativeDays(7)
        default: break
        }
        // "in 3 days", "in two weeks"
        if t.first == "in", t.count >= 3 {
            let unit = t.last!
            let mult = unit == "days" || unit == "day" ? 1 : (unit == "weeks" || unit == "week" ? 7 : 0)
            if mult > 0 {
                let amount: Double? = t.count == 3 && (t[1] == "a" || t[1] == "one") ? 1 : NumberParser.parseWhole(t[1..<(t.count - 1)])
                if let n = amount, n == n.rounded(), n >= 0, n <= 3650 { return .relativeDays(Int(n) * mult) }
            }
            return nil
        }
        // weekdays
        var next = false
        var w = t
        if w.first == "next" || w.first == "coming" { next = true; w.removeFirst() }
        else if w.first == "this" { w.removeFirst() }
        if w.first == "the", w.count == 3, w[1] == "coming" { next = true; w = Array(w.dropFirst(2)) }
        if w.count == 1, let i = DateSpec.weekdayNames.firstIndex(of: w[0]) { return .weekday(i + 1, next: next) }
        if next { return nil }
        // month and day, optional year
        var year: Int? = nil
        if let last = t.last, last.count == 4, let y = Int(last), y >= 1900, y <= 2200 { year = y; t.removeLast() }
        if t.first == "the" { t.removeFirst() }
        guard !t.isEmpty else { return nil }
        var month: Int? = nil, day: Int? = nil
        if let m = months[t[0]] {
            // "march 3rd", "march the third"
            var k = 1
            if k < t.count, t[k] == "the" { k += 1 }
            if let (d, e) = NumberParser.parseOrdinal(t, from: k), e == t.count { month = m; day = d }
        } else if let (d, e) = NumberParser.parseOrdinal(t, from: 0) {
            // "3rd of march", "third march"
            var k = e
            if k < t.count, t[k] == "of" { k += 1 }
            if k + 1 == t.count, let m = months[t[k]] { month = m; day = d }
        }
        guard let m = month, let d = day, d >= 1, d <= daysIn(m) else { return nil }
        return .monthDay(month: m, day: d, year: year)
    }

    static func daysIn(_ month: Int) -> Int { [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] }
}
