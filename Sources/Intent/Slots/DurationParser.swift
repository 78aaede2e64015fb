/// Reads spoken durations: "five minutes", "an hour and a half", "90 seconds", "half an hour",
/// "1 hour 30 minutes", "two and a half hours", "a quarter of an hour", "a couple of minutes".
public enum DurationParser {
    static let unitSeconds: [String: Double] = [
        "second": 1, "seconds": 1, "s": 1, "minute": 60, "minutes": 60, "m": 60,
        "hour": 3600, "hours": 3600, "h": 3600, "day": 86400, "days": 86400,
    ]

    /// Seconds for exactly these tokens, or nil.
    public static func parse(_ span: ArraySlice<String>) -> Double? {
        let t = Array(span)
        var i = 0
        var total = 0.0
        var parts = 0
        while i < t.count {
            if parts > 0, t[i] == "and" { i += 1 }
            guard let (seconds, end) = component(t, i) else { return nil }
            total += seconds; i = end; parts += 1
        }
        return parts > 0 && total > 0 ? total : nil
    }

    /// One "number unit" piece from `i`.
    static func component(_ t: [String], _ i: Int) -> (Double, Int)? {
        guard i < t.count else { return nil }
        // "half an hour", "half a minute", "a quarter of an hour", "quarter hour"
        var j = i
        var amount: Double? = nil
        if t[j] == "a" || t[j] == "an" || t[j] == "one" {
            if j + 1 < t.count, t[j + 1] == "half" || t[j + 1] == "quarter" {
                amount = t[j + 1] == "half" ? 0.5 : 0.25; j += 2
            }
        }
        if amount == nil, t[j] == "half" || t[j] == "quarter" { amount = t[j] == "half" ? 0.5 : 0.25; j += 1 }
        if let a = amount {
            if j < t.count, t[j] == "of" { j += 1 }
            if j < t.count, t[j] == "a" || t[j] == "an" { j += 1 }
            guard j < t.count, let unit = unitSeconds[t[j]] else { return nil }
            return (a * unit, j + 1)
        }
        // "a couple of minutes", "a few seconds"
        if t[j] == "a", j + 2 < t.count, t[j + 1] == "couple", t[j + 2] == "of" || unitSeconds[t[j + 2]] != nil {
            j += t[j + 2] == "of" ? 3 : 2
            guard j < t.count, let unit = unitSeconds[t[j]] else { return nil }
            return (2 * unit, j + 1)
        }
        let value: Double
        if (t[j] == "a" || t[j] == "an"), j + 1 < t.count, unitSeconds[t[j + 1]] != nil {
            value = 1; j += 1
        } else if let (v, e) = NumberParser.parse(t, from: j) {
            value = v; j = e
        } else {
            return nil
        }
        guard value >= 0, j < t.count, let unit = unitSeconds[t[j]] else { return nil }
        j += 1
        var seconds = value * unit
        // "an hour and a half", "a minute and a half"
        if j + 2 < t.count, t[j] == "and", t[j + 1] == "a", t[j + 2] == "half" {
            seconds += unit / 2; j += 3
        }
        return (seconds, j)
    }

    /// "5 minutes", "1 hour 30 minutes", "45 seconds" for replies.
    public static func spoken(_ seconds: Double) -> String {
        var rest = Int(seconds.rounded())
        if rest == 0 { return "0 seconds" }
        var parts: [String] = []
        for (name, size) in [("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)] where rest >= size {
            let n = rest / size
            rest -= n * size
            parts.append("\(n) \(name)\(n == 1 ? "" : "s")")
        }
        if parts.count <= 1 { return parts.joined() }
        return parts.dropLast().joined(separator: ", ") + " and " + parts.last!
    }
}
