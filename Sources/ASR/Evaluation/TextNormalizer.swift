import Foundation

/// Normalises English text before word error rate scoring, so that "Ten meters." and
/// "10 meters" or "don't" and "do not" count as the same words. Applied to reference and
/// hypothesis alike; the goal is consistency, not pretty text.
///
/// Steps, in order: lower case; curly quotes to `'`; `1,000` -> `1000`, `$5` -> `5 dollars`,
/// `%` -> `percent`, `&` -> `and`; hyphens, dashes, slashes and other punctuation split words
/// (a `.` between digits is kept, other dots are dropped so "u.s." -> "us"); contractions expanded
/// (`don't` -> `do not`, `I'll` -> `i will`, `it's` -> `it is`, other `'s` -> `s`); a few
/// abbreviations spelled out (`mr` -> `mister`, `etc` -> `et cetera`); spelled-out numbers
/// written as digits (`twenty five` -> `25`, `one hundred and five` -> `105`, `nineteen ninety
/// nine` -> `1999`, `three point five` -> `3.5`, `twentieth` -> `20th`, `nineties` -> `90s`).
/// Single digits in a row form one number (`two nine three`, `2, 9, 3` -> `293`).
///
/// In the spirit of Whisper's `EnglishTextNormalizer` (Radford et al. 2022, appendix C), written
/// smaller; British/American spelling is not unified.
public struct EnglishTextNormalizer: Sendable {
    public init() {}

    /// The normalised text: words separated by single spaces.
    public func normalize(_ text: String) -> String { words(text).joined(separator: " ") }

    /// The normalised words of `text`.
    public func words(_ text: String) -> [String] {
        var s = text.lowercased()
        for (from, to) in [("\u{2019}", "'"), ("\u{2018}", "'"), ("\u{02BC}", "'"), ("`", "'")] {
            s = s.replacingOccurrences(of: from, with: to)
        }
        s = Self.replace(#"(?<=\d),(?=\d{3}\b)"#, in: s, with: "")
        s = Self.replace(#"\$(\d+(?:\.\d+)?)"#, in: s, with: "$1 dollars")
        s = s.replacingOccurrences(of: "%", with: " percent ").replacingOccurrences(of: "&", with: " and ")

        var words: [String] = []
        for raw in Self.splitPunctuation(s) {
            words += Self.expandContraction(raw)
        }
        words = words.flatMap { Self.abbreviations[$0] ?? [$0] }
        return Self.writeNumbers(words)
    }

    // MARK: punctuation

    /// Splits on whitespace and punctuation; keeps letters, digits, apostrophes, and dots between
    /// digits; drops other dots (so abbreviations stay one word).
    static func splitPunctuation(_ s: String) -> [String] {
        let chars = Array(s)
        var words: [String] = []
        var current = ""
        func flush() {
            if !current.isEmpty { words.append(current); current = "" }
        }
        for (i, c) in chars.enumerated() {
            if c.isLetter || c.isNumber || c == "'" {
                current.append(c)
            } else if c == "." {
                let digitBefore = i > 0 && chars[i - 1].isNumber
                let digitAfter = i + 1 < chars.count && chars[i + 1].isNumber
                if digitBefore && digitAfter { current.append(c) }
                else if i + 1 < chars.count && chars[i + 1].isLetter && i > 0 && chars[i - 1].isLetter {
                    continue  // "u.s" stays one word
                } else {
                    flush()
                }
            } else {
                flush()
            }
        }
        flush()
        return words
    }

    // MARK: contractions

    static let pronounsWithIs: Set<String> = ["it", "he", "she", "that", "what", "there", "here", "where", "who", "how", "this", "when", "why"]
    static let wholeContractions: [String: [String]] = [
        "won't": ["will", "not"], "can't": ["can", "not"], "cannot": ["can", "not"], "shan't": ["shall", "not"],
        "ain't": ["is", "not"], "let's": ["let", "us"], "'em": ["them"], "y'all": ["you", "all"],
        "gonna": ["going", "to"], "wanna": ["want", "to"], "gotta": ["got", "to"],
    ]
    static let suffixContractions: [(String, String)] = [
        ("n't", "not"), ("'ll", "will"), ("'re", "are"), ("'ve", "have"), ("'m", "am"), ("'d", "would"),
    ]

    static func expandContraction(_ word: String) -> [String] {
        if let whole = wholeContractions[word] { return whole }
        var w = word
        while w.hasPrefix("'") { w.removeFirst() }
        while w.hasSuffix("'") { w.removeLast() }
        if let whole = wholeContractions[w] { return whole }
        for (suffix, expansion) in suffixContractions where w.hasSuffix(suffix) && w.count > suffix.count {
            return [String(w.dropLast(suffix.count)).replacingOccurrences(of: "'", with: ""), expansion]
        }
        if w.hasSuffix("'s") && w.count > 2 {
            let stem = String(w.dropLast(2))
            if pronounsWithIs.contains(stem) { return [stem, "is"] }
        }
        let plain = w.replacingOccurrences(of: "'", with: "")
        return plain.isEmpty ? [] : [plain]
    }

    static let abbreviations: [String: [String]] = [
        "mr": ["mister"], "mrs": ["missus"], "ms": ["miss"], "dr": ["doctor"], "etc": ["et", "cetera"],
        "ok": ["okay"], "vs": ["versus"],
    ]

    // MARK: numbers

    private enum Kind { case ones, teens, tens, hundred, scale }

    private struct NumberWord {
        let value: Int
        let kind: Kind
        /// "th"/"st"/... for ordinals, "s" for decades ("nineties"), "" otherwise.
        let ordinal: Bool
        let plural: Bool
    }

    private static let numberWords: [String: NumberWord] = {
        var m: [String: NumberWord] = [:]
        let ones = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
        let teens = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
        let tens = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
        for (i, w) in ones.enumerated() { m[w] = NumberWord(value: i, kind: .ones, ordinal: false, plural: false) }
        for (i, w) in teens.enumerated() { m[w] = NumberWord(value: 10 + i, kind: .teens, ordinal: false, plural: false) }
        for (i, w) in tens.enumerated() {
            m[w] = NumberWord(value: 20 + 10 * i, kind: .tens, ordinal: false, plural: false)
            m[String(w.dropLast()) + "ieth"] = NumberWord(value: 20 + 10 * i, kind: .tens, ordinal: true, plural: false)
            m[String(w.dropLast()) + "ies"] = NumberWord(value: 20 + 10 * i, kind: .tens, ordinal: false, plural: true)
        }
        let onesOrdinals = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"]
        for (i, w) in onesOrdinals.enumerated() { m[w] = NumberWord(value: i + 1, kind: .ones, ordinal: true, plural: false) }
        let teenOrdinals = ["tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
                            "seventeenth", "eighteenth", "nineteenth"]
        for (i, w) in teenOrdinals.enumerated() { m[w] = NumberWord(value: 10 + i, kind: .teens, ordinal: true, plural: false) }
        m["hundred"] = NumberWord(value: 100, kind: .hundred, ordinal: false, plural: false)
        m["hundredth"] = NumberWord(value: 100, kind: .hundred, ordinal: true, plural: false)
        for (w, v) in [("thousand", 1000), ("million", 1_000_000), ("billion", 1_000_000_000)] {
            m[w] = NumberWord(value: v, kind: .scale, ordinal: false, plural: false)
            m[w + "th"] = NumberWord(value: v, kind: .scale, ordinal: true, plural: false)
        }
        return m
    }()

    private static let digitWords: [String: String] = [
        "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
        "eight": "8", "nine": "9",
    ]

    static func ordinalSuffix(_ value: Int) -> String {
        if (11...13).contains(value % 100) { return "th" }
        switch value % 10 {
        case 1: return "st"
        case 2: return "nd"
        case 3: return "rd"
        default: return "th"
        }
    }

    /// Replaces runs of number words by digits, then joins runs of single digits into one
    /// number ("two nine three four zero" and "2, 9, 3, 4, 0" and "29340" all become "29340";
    /// digit strings are read out digit by digit, so the spaces carry no meaning).
    static func writeNumbers(_ words: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < words.count {
            if let (text, end) = parseNumber(words, from: i) {
                out.append(text)
                i = end
            } else {
                out.append(words[i])
                i += 1
            }
        }
        var joined: [String] = []
        var previousWasDigit = false
        for word in out {
            let isDigit = word.count == 1 && word.first!.isASCII && word.first!.isNumber
            if isDigit && previousWasDigit, let last = joined.popLast() {
                joined.append(last + word)
            } else {
                joined.append(word)
            }
            previousWasDigit = isDigit
        }
        return joined
    }

    /// One number starting at `start`: its digits and the index after it, or nil.
    private static func parseNumber(_ words: [String], from start: Int) -> (String, Int)? {
        var total = 0, group = 0
        var last: Kind? = nil
        var onesAfterTens = false
        var lastScale: Int? = nil
        var j = start
        var suffix = ""
        while j < words.count {
            let w = words[j]
            if w == "and", last == .hundred || last == .scale, j + 1 < words.count,
               let next = numberWords[words[j + 1]], next.kind != .hundred, next.kind != .scale {
                j += 1
                continue
            }
            guard let n = numberWords[w] else { break }
            var accepted = true
            switch n.kind {
            case .ones:
                if last == nil || last == .hundred || last == .scale || (last == .tens && !onesAfterTens) {
                    if last == .tens { onesAfterTens = true }
                    group += n.value
                } else { accepted = false }
            case .teens, .tens:
                if last == nil || last == .hundred || last == .scale {
                    group += n.value
                    onesAfterTens = false
                } else if total == 0, (10...99).contains(group), last == .teens || (last == .tens && !onesAfterTens),
                          !n.ordinal || true {
                    // A year said in pairs: "nineteen ninety nine" -> 1999, "twenty twenty" -> 2020.
                    group = group * 100 + n.value
                    onesAfterTens = false
                    last = n.kind
                    if n.ordinal { suffix = ordinalSuffix(group); j += 1; break }
                    if n.plural { suffix = "s"; j += 1; break }
                    j += 1
                    if n.kind == .tens, j < words.count, let o = numberWords[words[j]], o.kind == .ones, o.value > 0 {
                        group += o.value
                        j += 1
                        if o.ordinal { suffix = ordinalSuffix(group) }
                    }
                    return (String(total + group) + suffix, j)
                } else { accepted = false }
            case .hundred:
                if (last == nil || last == .ones || last == .teens || (last == .tens)) && group < 100 {
                    group = max(group, 1) * 100
                } else { accepted = false }
            case .scale:
                // "one million two hundred thousand": each scale smaller than the one before.
                if last != .scale && (lastScale == nil || n.value < lastScale!) {
                    total += max(group, 1) * n.value
                    group = 0
                    lastScale = n.value
                } else { accepted = false }
            }
            if !accepted { break }
            last = n.kind
            j += 1
            if n.ordinal { suffix = ordinalSuffix(total + group); break }
            if n.plural { suffix = "s"; break }
        }
        guard last != nil else { return nil }
        var text = String(total + group)
        // "three point one four" -> 3.14
        if suffix.isEmpty, j + 1 < words.count, words[j] == "point", digitWords[words[j + 1]] != nil {
            text += "."
            j += 1
            while j < words.count, let d = digitWords[words[j]] {
                text += d
                j += 1
            }
        }
        return (text + suffix, j)
    }

    private static func replace(_ pattern: String, in s: String, with template: String) -> String {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return s }
        return regex.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: template)
    }
}
