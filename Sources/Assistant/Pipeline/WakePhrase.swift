import Foundation

/// The wake phrase and a tolerant matcher for the start of a transcript.
///
/// Whisper writes a short phrase many ways ("Hey Hark.", "Hey, Mark!", "Hey hart", "A hark",
/// "Heyhark"), so matching is done on a rough phonetic key (letters lowercased; vowel runs,
/// including a `y` or `w` after a vowel, become one vowel; `c`/`q`/`ck` become `k`; doubled
/// letters collapse) of the first words, joined without spaces, against the key of the phrase:
/// the phrase matches when the edit distance is at most `tolerance` of the phrase key's length
/// (and at least one edit is always allowed). "hey hark" has the key `hahark`, so "hey mark",
/// "hey hart", "a hark" and "hi hark" are one edit away; "hey" alone or "a park" are not.
public struct WakePhrase: Sendable, Equatable {
    /// The phrase as configured ("hey hark").
    public let text: String
    /// Its words, lowercased.
    public let words: [String]
    /// Largest edit distance accepted, as a fraction of the phrase key's length.
    public let tolerance: Double
    let key: String

    public static let defaultText = "hey hark"
    public static let defaultTolerance = 0.2

    /// - Throws: `PipelineError.invalidWakePhrase` for a phrase with no words or more than four.
    public init(_ text: String = WakePhrase.defaultText, tolerance: Double = WakePhrase.defaultTolerance) throws {
        let words = Self.words(text)
        guard !words.isEmpty, words.count <= 4 else { throw PipelineError.invalidWakePhrase(text) }
        guard tolerance >= 0, tolerance < 1 else {
            throw PipelineError.invalidConfiguration(field: "wake tolerance", reason: "\(tolerance) is not in 0..<1")
        }
        self.text = words.joined(separator: " ")
        self.words = words
        self.tolerance = tolerance
        key = Self.phoneticKey(words.joined())
    }

    /// Where a transcript starts with the wake phrase.
    public struct Match: Sendable, Equatable {
        /// The words heard as the phrase, as written ("Hey, Mark!").
        public var heard: String
        /// What follows the phrase, punctuation at its start removed ("" for the phrase alone).
        public var remainder: String
        /// Edits between the heard words and the phrase (0 = exact).
        public var distance: Int
    }

    /// The match at the start of `transcript`, or nil when it does not start with the phrase.
    public func match(_ transcript: String) -> Match? {
        let tokens = transcript.split(whereSeparator: \.isWhitespace).map(String.init)
        var best: (tokens: Int, distance: Int)?
        // The recognizer may merge two words ("heyhark"). More tokens than the phrase has words
        // are not tried: "hey how are" would come within an edit of "hey hark".
        for count in max(1, words.count - 1)...words.count where count <= tokens.count {
            let heard = Self.phoneticKey(tokens[0..<count].flatMap(Self.words).joined())
            guard !heard.isEmpty else { continue }
            let distance = Self.editDistance(Array(heard), Array(key))
            if best == nil || distance < best!.distance { best = (count, distance) }
        }
        let allowed = max(1, Int((tolerance * Double(key.count)).rounded(.down)))
        guard let best, best.distance <= allowed else { return nil }
        let rest = tokens[best.tokens...].joined(separator: " ")
        return Match(heard: tokens[0..<best.tokens].joined(separator: " "),
                     remainder: String(rest.drop { !$0.isLetter && !$0.isNumber }),
                     distance: best.distance)
    }

    /// Lowercased words of letters and digits.
    static func words(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
    }

    static let vowels: Set<Character> = ["a", "e", "i", "o", "u"]

    /// The rough phonetic key described above (for English spellings).
    static func phoneticKey(_ word: String) -> String {
        var out: [Character] = []
        let letters = Array(word.lowercased().replacingOccurrences(of: "ck", with: "k").replacingOccurrences(of: "ph", with: "f"))
        for (i, raw) in letters.enumerated() {
            var c = raw
            switch c {
            case "c", "q": c = "k"
            case "z": c = "s"
            default: break
            }
            let afterVowel = out.last == "a"
            if vowels.contains(c) || ((c == "y" || c == "w") && afterVowel) || (c == "y" && i > 0) {
                c = "a"
            }
            if out.last == c { continue }
            out.append(c)
        }
        return String(out)
    }

    /// Levenshtein distance.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// A prompt that makes Whisper expect the phrase: its words capitalized, then a comma
    /// ("Hey Hark,"), the way the phrase starts a sentence spoken to Hark.
    public var recognizerPrompt: String {
        words.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ") + ","
    }
}
