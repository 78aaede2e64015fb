import Foundation

/// A word of decoded text and the tokens it came from.
public struct TokenWord: Sendable, Equatable {
    public var text: String
    public var tokens: [Int]

    public init(text: String, tokens: [Int]) {
        self.text = text
        self.tokens = tokens
    }
}

extension WhisperTokenizer {
    /// Languages written without spaces between words: their "words" are single characters
    /// (whole code points), as Whisper splits them.
    static let languagesWithoutSpaces: Set<String> = ["zh", "ja", "th", "lo", "my", "yue"]

    /// ASCII punctuation (Python's `string.punctuation`), used to decide what starts a word.
    static let asciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

    /// Splits text tokens into words the way Whisper's word timestamps do: a word starts at a
    /// token whose text begins with a space, at punctuation, and at special tokens; other
    /// tokens continue the previous word. For languages without spaces every whole code point
    /// is a word. Tokens that end in the middle of a UTF-8 character are kept with the next ones.
    public func splitIntoWords(_ ids: [Int], language: String) -> [TokenWord] {
        let pieces = splitAtCodePoints(ids)
        if Self.languagesWithoutSpaces.contains(language) { return pieces }
        var words: [TokenWord] = []
        for piece in pieces {
            let special = piece.tokens[0] >= eot
            let startsWithSpace = piece.text.hasPrefix(" ")
            let stripped = piece.text.trimmingCharacters(in: .whitespacesAndNewlines)
            // Python's `stripped in string.punctuation` is a substring test ("" is in every string).
            let punctuation = stripped.isEmpty || Self.asciiPunctuation.contains(stripped)
            if special || startsWithSpace || punctuation || words.isEmpty {
                words.append(piece)
            } else {
                words[words.count - 1].text += piece.text
                words[words.count - 1].tokens += piece.tokens
            }
        }
        return words
    }

    /// Groups tokens so that each group decodes to whole code points: a token that leaves a
    /// character unfinished (U+FFFD in its decoding) waits for the next tokens, unless the full
    /// text really holds U+FFFD there.
    func splitAtCodePoints(_ ids: [Int]) -> [TokenWord] {
        let full = Array(decode(ids, skipSpecial: false).unicodeScalars)
        var pieces: [TokenWord] = []
        var current: [Int] = []
        var offset = 0
        for id in ids {
            current.append(id)
            let decoded = Array(decode(current, skipSpecial: false).unicodeScalars)
            let replacement = decoded.firstIndex(of: "\u{FFFD}").map { $0 + offset }
            if replacement == nil || (replacement! < full.count && full[replacement!] == "\u{FFFD}") {
                pieces.append(TokenWord(text: String(String.UnicodeScalarView(decoded)), tokens: current))
                current = []
                offset += decoded.count
            }
        }
        return pieces
    }
}
