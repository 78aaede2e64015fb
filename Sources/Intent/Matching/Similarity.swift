/// Word similarity for tolerating recognizer errors: a character edit distance blended with the
/// edit distance of a phonetic key (a small Metaphone-style reduction written for English).
public enum WordSimilarity {
    /// Levenshtein distance between two sequences.
    static func editDistance<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(substitution, previous[j] + 1, current[j - 1] + 1)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// A phonetic key: consonant skeleton after English spelling rules (ph->f, ck->k, sh/ch->x,
    /// th->0, silent gh/kn/wr, soft c/g), vowels dropped except a leading one, doubles collapsed.
    /// In the spirit of Lawrence Philips' Metaphone (1990), much simplified.
    public static func phoneticKey(_ word: String) -> String {
        let s = Array(word.lowercased().filter { $0.isLetter })
        if s.isEmpty { return word }
        var out: [Character] = []
        var i = 0
        func at(_ k: Int) -> Character? { k >= 0 && k < s.count ? s[k] : nil }
        let vowels: Set<Character> = ["a", "e", "i", "o", "u", "y"]
        // Silent initial letters.
        if s.count > 1, ["kn", "gn", "pn", "wr", "ps"].contains(String(s[0...1])) { i = 1 }
        while i < s.count {
            let c = s[i]
            let n = at(i + 1)
            var emit: Character? = nil
            switch c {
            case "a", "e", "i", "o", "u": emit = out.isEmpty && i == 0 ? "a" : nil
            case "y": emit = (n.map { vowels.contains($0) } ?? false) ? "y" : nil
            case "b": emit = (i == s.count - 1 && at(i - 1) == "m") ? nil : "b"
            case "c":
                if n == "h" { emit = "x"; i += 1 }
                else if n == "k" { emit = "k"; i += 1 }
                else if n == "i" || n == "e" || n == "y" { emit = "s" }
                else { emit = "k" }
            case "d": emit = "t"
            case "g":
                if n == "h" { emit = (i + 2 < s.count && !vowels.contains(s[i + 2])) || i + 2 >= s.count ? nil : "k"; i += 1 }
                else if n == "i" || n == "e" || n == "y" { emit = "j" }
                else { emit = "k" }
            case "h": emit = (at(i - 1).map { vowels.contains($0) } ?? true) && !(n.map { vowels.contains($0) } ?? false) ? nil : "h"
            case "k": emit = "k"
            case "p": if n == "h" { emit = "f"; i += 1 } else { emit = "p" }
            case "q": emit = "k"
            case "s":
                if n == "h" { emit = "x"; i += 1 } else { emit = "s" }
            case "t":
                if n == "h" { emit = "0"; i += 1 } else { emit = "t" }
            case "v": emit = "f"
            case "w": emit = (n.map { vowels.contains($0) } ?? false) ? "w" : nil
            case "x": out.append("k"); emit = "s"
            case "z": emit = "s"
            default: emit = c
            }
            if let e = emit, out.last != e { out.append(e) }
            i += 1
        }
        return String(out)
    }

    /// Words a recognizer confuses because they sound the same.
    static let homophones: [Set<String>] = [
        ["to", "two", "too"], ["for", "four", "fore"], ["of", "off"], ["right", "write"], ["our", "hour"],
        ["no", "know"], ["won", "one"], ["ate", "eight"], ["by", "buy", "bye"], ["new", "knew"], ["there", "their"],
        ["hear", "here"], ["week", "weak"], ["sun", "son"], ["not", "note"], ["time", "thyme"], ["minute", "minuet"],
        ["weigh", "way"], ["meet", "meat"], ["sale", "sail"],
    ]
    static let homophoneOf: [String: Int] = {
        var map: [String: Int] = [:]
        for (i, group) in homophones.enumerated() where group.count > 1 { for w in group { map[w] = i } }
        return map
    }()

    /// A word prepared for repeated comparisons: its letters and phonetic key as arrays.
    struct Prepared: Sendable {
        let word: String
        let chars: [Character]
        let key: [Character]
        let homophoneGroup: Int?
        let isNumeric: Bool
        init(_ word: String) {
            self.word = word
            chars = Array(word)
            key = Array(WordSimilarity.phoneticKey(word))
            homophoneGroup = WordSimilarity.homophoneOf[word]
            isNumeric = word.first?.isNumber == true
        }
    }

    /// Similarity in [0, 1]: 1 for equal words, about 0.8 for "time"/"timer" or "of"/"off".
    public static func similarity(_ a: String, _ b: String) -> Double {
        similarity(Prepared(a), Prepared(b))
    }

    static func similarity(_ a: Prepared, _ b: Prepared) -> Double {
        if a.word == b.word { return 1 }
        if let ga = a.homophoneGroup, ga == b.homophoneGroup { return 0.9 }
        let ca = a.chars, cb = b.chars
        // Words of very different length cannot reach the 0.6 that makes a substitution cheap.
        if min(ca.count, cb.count) * 3 < max(ca.count, cb.count) { return 0 }
        let charSim = 1 - Double(editDistance(ca, cb)) / Double(max(ca.count, cb.count))
        // Digits and number words never sound alike through this key; compare spelling only.
        if a.isNumeric || b.isNumeric { return charSim * 0.5 }
        let ka = a.key, kb = b.key
        let phonSim = ka.isEmpty && kb.isEmpty ? 1 : 1 - Double(editDistance(ka, kb)) / Double(max(ka.count, kb.count, 1))
        return 0.5 * charSim + 0.5 * phonSim
    }
}
