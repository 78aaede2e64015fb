/// Reads times of day: "7:30 pm", "half past seven", "quarter to eight", "seven thirty",
/// "noon", "midnight", "7 o'clock in the evening", "19:45", "ten past six am".
public enum TimeOfDayParser {
    /// The time for exactly these tokens, or nil.
    public static func parse(_ span: ArraySlice<String>) -> TimeOfDay? {
        var t = Array(span)
        // A trailing period marker decides am/pm.
        var period: Bool? = nil  // true = pm
        let suffixes: [([String], Bool)] = [
            (["pm"], true), (["am"], false), (["p", "m"], true), (["a", "m"], false),
            (["in", "the", "morning"], false), (["in", "the", "afternoon"], true), (["in", "the", "evening"], true),
            (["at", "night"], true), (["tonight"], true), (["this", "evening"], true), (["this", "afternoon"], true),
            (["this", "morning"], false),
        ]
        for (words, pm) in suffixes where t.count > words.count && Array(t.suffix(words.count)) == words {
            t.removeLast(words.count); period = pm; break
        }
        if t.last == "oclock" { t.removeLast() }
        guard !t.isEmpty else { return nil }
        var result: TimeOfDay
        if t == ["noon"] || t == ["midday"] || t == ["twelve", "noon"] || t == ["12", "noon"] {
            return period == nil ? TimeOfDay(hour: 12, minute: 0) : nil
        } else if t == ["midnight"] || t == ["twelve", "midnight"] {
            return period == nil ? TimeOfDay(hour: 0, minute: 0) : nil
        } else if let r = relative(t) {
            result = r
        } else if let r = clock(t) {
            result = r
        } else {
            return nil
        }
        if let pm = period {
            guard result.hour >= 1 && result.hour <= 12 else { return nil }
            result.hour = pm ? (result.hour % 12) + 12 : result.hour % 12
            result.ambiguous = false
        }
        return result
    }

    /// An hour word or digits 0...24.
    static func hour(_ t: ArraySlice<String>) -> Int? {
        if t == ["noon"] { return 12 }
        if t == ["midnight"] { return 0 }
        guard let v = NumberParser.parseWhole(t), v == v.rounded(), v >= 0, v <= 24 else { return nil }
        return Int(v) % 24
    }

    /// "half past seven", "quarter to eight", "ten past six", "twenty five to nine", "5 after 3".
    static func relative(_ t: [String]) -> TimeOfDay? {
        guard let k = t.firstIndex(where: { $0 == "past" || $0 == "to" || $0 == "after" || $0 == "before" }), k > 0, k + 1 < t.count else { return nil }
        var minutesWords = t[0..<k]
        if minutesWords.last == "minutes" || minutesWords.last == "minute" { minutesWords = minutesWords.dropLast() }
        if minutesWords.first == "a", minutesWords.count == 2, minutesWords.last == "quarter" { minutesWords = ["quarter"] }
        let minutes: Int
        if minutesWords == ["half"] { minutes = 30 }
        else if minutesWords == ["quarter"] { minutes = 15 }
        else if let v = NumberParser.parseWhole(minutesWords), v == v.rounded(), v > 0, v < 60 { minutes = Int(v) }
        else { return nil }
        guard let h = hour(t[(k + 1)...]) else { return nil }
        let forward = t[k] == "past" || t[k] == "after"
        if minutes == 30 && !forward { return nil }
        var total = h * 60 + (forward ? minutes : -minutes)
        total = (total + 24 * 60) % (24 * 60)
        let ambiguous = h >= 1 && h <= 12
        return TimeOfDay(hour: total / 60, minute: total % 60, ambiguous: ambiguous)
    }

    /// "7", "7:30", "7.30", "seven thirty", "seven oh five", "19 45", "nineteen forty five".
    static func clock(_ t: [String]) -> TimeOfDay? {
        if t.count == 1 {
            let w = t[0]
            for sep: Character in [":", "."] where w.contains(sep) {
                let p = w.split(separator: sep)
                guard p.count == 2, p[1].count == 2, let h = Int(p[0]), let m = Int(p[1]), h >= 0, h <= 24, m < 60 else { return nil }
                return TimeOfDay(hour: h % 24, minute: m, ambiguous: h >= 1 && h <= 12)
            }
            // "730" from a recognizer is 7:30, "1945" is 19:45.
            if w.count >= 3, w.count <= 4, w.allSatisfy({ $0.isNumber }), let v = Int(w), v % 100 < 60, v / 100 <= 23, v / 100 >= 1 {
                return TimeOfDay(hour: v / 100, minute: v % 100, ambiguous: v / 100 <= 12)
            }
        }
        // Split into an hour part and a minute part; try each split point.
        for split in 1...t.count {
            guard let h = hour(t[0..<split]) else { continue }
            let rest = t[split...]
            if rest.isEmpty { return TimeOfDay(hour: h, minute: 0, ambiguous: h >= 1 && h <= 12) }
            var minuteWords = rest
            var leadingZero = false
            if minuteWords.first == "oh" || minuteWords.first == "o" { minuteWords = minuteWords.dropFirst(); leadingZero = true }
            guard !minuteWords.isEmpty, let m = NumberParser.parseWhole(minuteWords), m == m.rounded(), m >= 0, m < 60 else { continue }
            if leadingZero && m >= 10 { continue }
            // "seven five" is not a time, "seven oh five" and "seven fifteen" are.
            if !leadingZero && m < 10 && Int(minuteWords.first ?? "") == nil { continue }
            return TimeOfDay(hour: h, minute: Int(m), ambiguous: h >= 1 && h <= 12)
        }
        return nil
    }
}
