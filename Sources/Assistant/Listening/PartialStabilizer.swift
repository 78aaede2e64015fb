/// Keeps partial transcripts from flickering: a word that stayed the same in two consecutive
/// partial decodes is committed, and committed words are never changed by later partials
/// (only the final transcript of the utterance may differ).
public struct PartialStabilizer: Sendable, Equatable {
    /// Words that will not change in later partials.
    public private(set) var committed: [String] = []
    private var previous: [String] = []

    public init() {}

    /// Takes the text of a new decode of the whole utterance so far; returns the text to show
    /// (committed words followed by the new decode's words beyond them).
    public mutating func update(_ text: String) -> String {
        let words = text.split(whereSeparator: \.isWhitespace).map(String.init)
        // Words agreeing between this decode and the previous one, from the start, are stable.
        var agree = 0
        while agree < words.count && agree < previous.count && words[agree] == previous[agree] { agree += 1 }
        if agree > committed.count, Array(words.prefix(committed.count)) == committed {
            committed = Array(words.prefix(agree))
        }
        previous = words
        let tail = words.count > committed.count ? Array(words[committed.count...]) : []
        return (committed + tail).joined(separator: " ")
    }

    public mutating func reset() { self = PartialStabilizer() }
}

/// True when `text` holds a spoken word: not empty, not only punctuation, and not only
/// bracketed annotations such as "[music]", "(wind blowing)" or "*sigh*".
public func containsSpokenWords(_ text: String) -> Bool {
    var depth = 0
    var starred = false
    for ch in text {
        switch ch {
        case "[", "(": depth += 1
        case "]", ")": depth = max(0, depth - 1)
        case "*": starred.toggle()
        default:
            if depth == 0 && !starred && (ch.isLetter || ch.isNumber) { return true }
        }
    }
    return false
}
