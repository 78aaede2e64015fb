/// Turns generated tokens into text as they come. A token's bytes may end inside a UTF-8
/// character (emoji and CJK are often split over tokens); those bytes wait for the next token.
///
///     var stream = StreamingDetokenizer(tokenizer: tokenizer)
///     for id in generated { print(stream.append(id), terminator: "") }
///     print(stream.finish())
public struct StreamingDetokenizer: Sendable {
    public let tokenizer: any LLMTokenizer
    private var pending: [UInt8] = []

    public init(tokenizer: any LLMTokenizer) {
        self.tokenizer = tokenizer
    }

    /// The text completed by token `id` (empty while a character is still incomplete).
    public mutating func append(_ id: Int32) -> String {
        pending.append(contentsOf: tokenizer.piece(id))
        let complete = Self.completePrefixLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Whatever is left; an incomplete character becomes U+FFFD.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of `bytes` without a trailing incomplete UTF-8 sequence.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // Look back at most 3 bytes for the lead byte of the last sequence.
        var i = n - 1
        var continuation = 0
        while i >= 0 && continuation < 3 && bytes[i] & 0xC0 == 0x80 {
            continuation += 1
            i -= 1
        }
        guard i >= 0 else { return n }
        let lead = bytes[i]
        let needed = lead >= 0xF0 && lead < 0xF8 ? 4 : lead >= 0xE0 && lead < 0xF0 ? 3 : lead >= 0xC0 && lead < 0xE0 ? 2 : 1
        return needed > continuation + 1 ? i : n
    }
}
