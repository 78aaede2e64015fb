import Foundation

/// Reads numbers written in digits ("25", "2.5", "1000") or words ("twenty five",
/// "one hundred and five", "two and a half", "three point one four", "a thousand").
/// Every function takes a token array and a start index and returns the value with the index
/// after the last token used (the longest reading), so larger parsers can build on it.
public enum NumberParser {
    static let units: [String: Int] = [
        "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    ]
    static let teens: [String: Int] = [
        "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
        "seventeen": 17, "eighteen": 18, "nineteen": 19,
    ]
    static let tens: [String: Int] = [
        "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    ]
    static let scales: [String: Double] = ["thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000]
    static let ordinals: [String: Int] = [
        "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
        "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
        "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
    ]

    /// Whether a token can start or continue a spoken number.
    static func isNumberWord(_ w: String) -> Bool {
        units[w] != nil || teens[w] != nil || tens[w] != nil || w == "hundred" || scales[w] != nil || digitValue(w) != nil
    }

    /// "25", "2.5", "007" -> value; anything else nil.
    static func digitValue(_ w: String) -> Double? {
        guard let first = w.first, first.isNumber, w.allSatisfy({ $0.isNumber || $0 == "." }),
              w.filter({ $0 == "." }).count <= 1, w.last != "." else { return nil }
        return Double(w)
    }

    /// A whole number in words, longest reading from `i`: "twenty five", "a hundred and one",
    /// "two thousand three hundred". Digits are not handled here.
    static func parseIntegerWords(_ t: [String], _ i: Int) -> (Double, Int)? {
        enum Last { case none, unit, teen, tens, hundred, scale }
        var j = i
        var total = 0.0, current = 0.0
        var last = Last.none
        var lastScale = Double.infinity
        while j < t.count {
            let w = t[j]
            if w == "a" || w == "an", last == .none, j + 1 < t.count, t[j + 1] == "hundred" || scales[t[j + 1]] != nil {
                current = 1; last = .unit; j += 1; continue
            }
            if let u = units[w] {
                if u == 0 && last != .none { break }
                guard last == .none || last == .tens || last == .hundred || last == .scale else { break }
                if u == 0 { j += 1; return (0, j) }
                current += Double(u); last = .unit
            } else if let v = teens[w] {
                guard last == .none || last == .hundred || last == .scale else { break }
                current += Double(v); last = .teen
            } else if let v = tens[w] {
                guard last == .none || last == .hundred || last == .scale else { break }
                current += Double(v); last = .tens
            } else if w == "hundred" {
                guard last == .unit || last == .teen || last == .tens, current.truncatingRemainder(dividingBy: 100) == current else { break }
                current *= 100; last = .hundred
            } else if let s = scales[w] {
                guard last != .none, last != .scale, s < lastScale else { break }
                total += current * s; current = 0; last = .scale; lastScale = s
            } else if w == "and", last == .hundred || last == .scale, j + 1 < t.count,
                      units[t[j + 1]] != nil || teens[t[j + 1]] != nil || tens[t[j + 1]] != nil {
                // "one hundred and five": the "and" belongs to the number.
            } else {
                break
            }
            j += 1
        }
        return last == .none ? nil : (total + current, j)
    }

    /// Any number from `i`: digits or words, with decimals ("point five"), fractions ("and a half"),
    /// a scale after digits ("2 thousand") and a sign ("minus five").
    /// - Parameter fractions: also accept "half", "a half", "a quarter" on their own.
    public static func parse(_ t: [String], from i: Int, fractions: Bool = false) -> (value: Double, end: Int)? {
        guard i < t.count else { return nil }
        if t[i] == "minus" || t[i] == "negative" {
            guard let (v, e) = parse(t, from: i + 1, fractions: fractions), i + 1 < t.count, t[i + 1] != "minus" else { return nil }
            return (-v, e)
        }
        if fractions {
            if t[i] == "half" { return (0.5, i + 1) }
            if t[i] == "a" || t[i] == "one", i + 1 < t.count {
                if t[i + 1] == "half" { return (0.5, i + 2) }
                if t[i + 1] == "quarter" { return (0.25, i + 2) }
            }
            if t[i] == "quarter" { return (0.25, i + 1) }
        }
        var value: Double
        var j: Int
        if let d = digitValue(t[i]) {
            value = d; j = i + 1
            if j < t.count, let s = scales[t[j]] { value *= s; j += 1 }
            else if j < t.count, t[j] == "hundred" { value *= 100; j += 1 }
        } else if let (v, e) = parseIntegerWords(t, i) {
            value = v; j = e
            // "point five", "point two five"
            if j + 1 < t.count, t[j] == "point" {
                var digits = ""
                var k = j + 1
                while k < t.count, let u = units[t[k]] ?? (t[k] == "oh" ? 0 : nil) { digits += String(u); k += 1 }
                if !digits.isEmpty, let frac = Double("0." + digits) { value += frac; j = k }
            }
        } else {
            return nil
        }
        // "two and a half", "one and a quarter", "three and three quarters"
        if j + 2 < t.count, t[j] == "and", t[j + 1] == "a" || t[j + 1] == "one" {
            if t[j + 2] == "half" { value += 0.5; j += 3 }
            else if t[j + 2] == "quarter" { value += 0.25; j += 3 }
        } else if j + 2 < t.count, t[j] == "and", t[j + 1] == "three", t[j + 2] == "quarters" {
            value += 0.75; j += 3
        }
        return (value, j)
    }

    /// The number spelled by exactly `t[range]`, or nil.
    public static func parseWhole(_ t: ArraySlice<String>, fractions: Bool = false) -> Double? {
        let a = Array(t)
        guard let (v, e) = parse(a, from: 0, fractions: fractions), e == a.count else { return nil }
        return v
    }

    /// "3rd", "third", "twenty first", "31st", "3" -> day number, longest reading from `i`.
    static func parseOrdinal(_ t: [String], from i: Int) -> (Int, Int)? {
        guard i < t.count else { return nil }
        let w = t[i]
        for suffix in ["st", "nd", "rd", "th"] where w.hasSuffix(suffix) {
            if let n = Int(w.dropLast(2)) { return (n, i + 1) }
        }
        if let n = Int(w) { return (n, i + 1) }
        if let n = ordinals[w] { return (n, i + 1) }
        if let t10 = tens[w], i + 1 < t.count, let u = ordinals[t[i + 1]], u < 10 { return (t10 + u, i + 2) }
        return nil
    }
}
