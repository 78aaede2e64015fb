import Foundation

/// Turns raw text (typed, or a recognizer transcript) into the lowercase word tokens that the
/// matcher compares: contractions expanded, punctuation dropped, symbols spelled out, and
/// politeness fillers ("please", "could you", "hey hark") removed.
///
/// Template literals go through the same function (without filler removal) so that a template
/// written "what's the time" matches a transcript "What is the time?".
public struct Normalizer: Sendable {
    public init() {}

    /// Contractions and spellings that the recognizer produces in several forms.
    static let contractions: [String: [String]] = [
        "what's": ["what", "is"], "whats": ["what", "is"], "it's": ["it", "is"], "that's": ["that", "is"],
        "how's": ["how", "is"], "where's": ["where", "is"], "who's": ["who", "is"], "there's": ["there", "is"],
        "when's": ["when", "is"], "here's": ["here", "is"], "let's": ["let", "us"], "i'm": ["i", "am"],
        "you're": ["you", "are"], "we're": ["we", "are"], "they're": ["they", "are"], "what're": ["what", "are"],
        "don't": ["do", "not"], "dont": ["do", "not"], "doesn't": ["does", "not"], "didn't": ["did", "not"],
        "can't": ["can", "not"], "cannot": ["can", "not"], "won't": ["will", "not"], "isn't": ["is", "not"],
        "aren't": ["are", "not"], "i'll": ["i", "will"], "you'll": ["you", "will"], "i've": ["i", "have"],
        "i'd": ["i", "would"], "how'd": ["how", "would"], "o'clock": ["oclock"], "a.m.": ["am"], "p.m.": ["pm"],
        "a.m": ["am"], "p.m": ["pm"], "today's": ["todays"], "tomorrow's": ["tomorrows"],
        "&": ["and"], "+": ["plus"], "×": ["times"], "*": ["times"], "÷": ["divided", "by"], "^": ["to", "the", "power", "of"],
        "%": ["percent"], "°": ["degrees"], "okay": ["ok"], "gonna": ["going", "to"], "wanna": ["want", "to"],
        "mins": ["minutes"], "min": ["minutes"], "secs": ["seconds"], "sec": ["seconds"], "hrs": ["hours"], "hr": ["hours"],
    ]

    /// Words whose "'s" is "is" rather than a possessive.
    static let contractedIs: Set<String> = [
        "time", "long", "timer", "alarm", "volume", "weather", "date", "day", "this", "what", "how", "where", "who", "when",
        "why", "he", "she", "it", "that", "there", "here", "everything", "nothing", "something", "one", "which",
    ]

    /// Filler phrases dropped at the start of an utterance (longest first is not needed: we loop).
    static let leadingFillers: [[String]] = [
        ["hey", "hark"], ["ok", "hark"], ["hi", "hark"], ["hark"], ["hey"], ["ok"], ["so"], ["um"], ["uh"], ["oh"],
        ["please"], ["could", "you"], ["can", "you"], ["would", "you"], ["will", "you"], ["kindly"],
        ["i", "want", "you", "to"], ["i", "want", "to"], ["i", "would", "like", "to"], ["i", "wanna"], ["let", "us"], ["i", "would", "like", "you", "to"], ["i", "need", "you", "to"],
        ["go", "ahead", "and"], ["just"], ["now"], ["alright"], ["all", "right"], ["well"],
    ]
    /// Fillers dropped anywhere.
    static let anywhereFillers: Set<String> = ["please", "um", "uh", "umm", "uhh", "er", "erm", "hmm"]
    /// Fillers dropped at the end.
    static let trailingFillers: [[String]] = [["please"], ["thanks"], ["thank", "you"], ["for", "me"], ["to", "me"], ["hark"]]

    /// Normalised word tokens of `text`.
    /// - Parameter removeFillers: false for template literals, true for user input.
    public func tokens(_ text: String, removeFillers: Bool = true) -> [String] {
        var words: [String] = []
        let lowered = text.lowercased()
            .replacingOccurrences(of: "\u{2019}", with: "'")
            .replacingOccurrences(of: "\u{2018}", with: "'")
        for raw in Self.splitSymbols(lowered).split(whereSeparator: { $0.isWhitespace }) {
            words.append(contentsOf: cleanWord(String(raw)))
        }
        words = Self.joinSplitWords(words)
        guard removeFillers else { return words }
        words = words.filter { !Self.anywhereFillers.contains($0) }
        var changed = true
        while changed {
            changed = false
            for filler in Self.leadingFillers where words.count > filler.count && Array(words.prefix(filler.count)) == filler {
                words.removeFirst(filler.count)
                changed = true
            }
            for filler in Self.trailingFillers where words.count > filler.count && Array(words.suffix(filler.count)) == filler {
                words.removeLast(filler.count)
                changed = true
            }
        }
        return words
    }

    /// Words a recognizer sometimes splits in two, joined back ("per cent" -> "percent").
    static let splitWords: [(String, String, String)] = [("per", "cent", "percent")]

    static func joinSplitWords(_ words: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < words.count {
            if i + 1 < words.count, let join = splitWords.first(where: { $0.0 == words[i] && $0.1 == words[i + 1] }) {
                out.append(join.2); i += 2; continue
            }
            out.append(words[i]); i += 1
        }
        return out
    }

    /// Puts spaces around symbols that stand for words so that "5+3" and "15%" split.
    static func splitSymbols(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count + 8)
        let chars = Array(s)
        for (i, c) in chars.enumerated() {
            let prev: Character? = i > 0 ? chars[i - 1] : nil
            let next: Character? = i + 1 < chars.count ? chars[i + 1] : nil
            switch c {
            case "+", "×", "*", "÷", "^", "%", "°", "&", "=", "?", "!", ";", "\"", "(", ")", "[", "]", "{", "}":
                out += " \(c) "
            case "/":
                // "12/4" is a division; other slashes separate words.
                if prev?.isNumber == true && next?.isNumber == true { out += " ÷ " } else { out += " " }
            case "-":
                if prev?.isNumber == true && next?.isNumber == true {
                    out += " minus "
                } else if (prev == nil || prev!.isWhitespace) && next?.isNumber == true {
                    out += " minus "
                } else {
                    out += " "
                }
            case ",":
                // Thousands separators stay inside digits ("1,000"); other commas go.
                if prev?.isNumber == true && next?.isNumber == true { continue } else { out += " " }
            default:
                out.append(c)
            }
        }
        return out
    }

    /// One whitespace-delimited chunk to zero or more tokens.
    func cleanWord(_ raw: String) -> [String] {
        if let expanded = Self.contractions[raw] { return expanded }
        // Strip punctuation at the ends; keep "7:30", "2.5", "a.m." handled above.
        var w = raw.trimmingCharacters(in: CharacterSet(charactersIn: ".,:;'`\"?!()"))
        if w.isEmpty { return [] }
        if let expanded = Self.contractions[w] { return expanded }
        if w.hasSuffix("'s") {
            let stem = String(w.dropLast(2))
            // "how long's left", "the timer's done": a contracted "is"; otherwise a possessive.
            if Self.contractedIs.contains(stem) { return [stem, "is"] }
            w = stem + "s"
        }
        // Inside a word only digits may keep '.' and ':' ("7:30", "2.5"); apostrophes go.
        let digitsOnly = w.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" }
        if !digitsOnly {
            w = String(w.filter { $0.isLetter || $0.isNumber })
            // "7pm", "5am", "10k" stay split so the slot parsers see "7 pm".
            if let split = Self.splitDigitSuffix(w) { return split }
        }
        return w.isEmpty ? [] : [w]
    }

    static func splitDigitSuffix(_ w: String) -> [String]? {
        guard let first = w.first, first.isNumber else { return nil }
        let digits = w.prefix { $0.isNumber }
        let rest = w.dropFirst(digits.count)
        guard !rest.isEmpty, rest.allSatisfy({ $0.isLetter }) else { return nil }
        // Ordinals stay one token ("3rd") for the date parser.
        if ["st", "nd", "rd", "th"].contains(String(rest)) { return nil }
        return [String(digits), String(rest)]
    }
}
