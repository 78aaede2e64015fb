import Foundation
import HarkTestSupport
import Testing
@testable import LLM

/// Tiny hand-made vocabularies with hand-computed results.
@Suite struct TokenizerUnitTests {
    /// Byte-level spelling of one byte (GPT-2 alphabet).
    static func spell(_ byte: UInt8) -> String {
        let scalar = ByteLevelAlphabet.scalarToByte.first { $0.value == byte }!.key
        return String(Character(Unicode.Scalar(scalar)!))
    }

    /// 256 byte tokens (id = byte value), then "Ġa" 256, "ab" 257, "abc" 258, then control "<|end|>" 259
    /// and user-defined "<tool>" 260. Merge order: "Ġ a" (rank 0), "a b", "ab c".
    static func tinyBPE(pre: String = "gpt2") throws -> ByteLevelBPETokenizer {
        var tokens = (0...255).map { spell(UInt8($0)) }
        tokens += ["Ġa", "ab", "abc", "<|end|>", "<tool>"]
        var types = [TokenType](repeating: .normal, count: 259)
        types += [.control, .userDefined]
        return try ByteLevelBPETokenizer(vocabulary: TokenizerVocabulary(
            model: "gpt2", preTokenizer: pre, tokens: tokens, tokenTypes: types,
            merges: ["Ġ a", "a b", "ab c"], bosID: 259, eosID: 259))
    }

    @Test func bpeMergesLowestRankFirst() throws {
        let t = try Self.tinyBPE()
        #expect(t.encode("abc", addBOS: false, parseSpecial: false) == [258])
        // " abc": "Ġ a" has the better rank, so "a b" can no longer apply: Ġa, b, c.
        #expect(t.encode(" abc", addBOS: false, parseSpecial: false) == [256, 98, 99])
        // "cab ab": words "cab", " ab" -> c, ab | Ġa, b
        #expect(t.encode("cab ab", addBOS: false, parseSpecial: false) == [99, 257, 256, 98])
        #expect(t.encode("", addBOS: true, parseSpecial: false) == [259])
    }

    @Test func specialTokensAreNeverSplit() throws {
        let t = try Self.tinyBPE()
        #expect(t.encode("ab<|end|>c", addBOS: false, parseSpecial: true) == [257, 259, 99])
        // Control tokens are text when special tokens are not parsed; user-defined ones always match.
        #expect(t.encode("<|end|>", addBOS: false, parseSpecial: false).count == 7)
        #expect(t.encode("x<tool>y", addBOS: false, parseSpecial: false) == [120, 260, 121])
        #expect(t.decode([257, 259, 99]) == "ab<|end|>c")
    }

    @Test func byteLevelRoundTripOfArbitraryText() throws {
        let t = try Self.tinyBPE()
        for text in ["héllo wörld 🚀", "a\n\n b\t", "日本語", " abc abc  ab"] {
            #expect(t.decode(t.encode(text, addBOS: false, parseSpecial: true)) == text)
        }
    }

    @Test func streamingDetokenizerHoldsIncompleteCharacters() throws {
        let t = try Self.tinyBPE()
        let ids = t.encode("é🚀a", addBOS: false, parseSpecial: false)
        #expect(ids == [0xC3, 0xA9, 0xF0, 0x9F, 0x9A, 0x80, 97])
        var stream = StreamingDetokenizer(tokenizer: t)
        let pieces = ids.map { stream.append($0) }
        #expect(pieces == ["", "é", "", "", "", "🚀", "a"])
        #expect(stream.finish() == "")
        var broken = StreamingDetokenizer(tokenizer: t)
        #expect(broken.append(0xF0) == "")
        #expect(broken.finish() == "\u{FFFD}")
    }

    @Test func preTokenizerSplits() {
        func words(_ pre: PreTokenizer, _ text: String) -> [String] {
            let scalars = Array(text.unicodeScalars)
            return pre.split(scalars).map { String(String.UnicodeScalarView(scalars[$0])) }
        }
        #expect(words(.gpt2, "Hello  world's 123!!") == ["Hello", " ", " world", "'s", " 123", "!!"])
        #expect(words(.digitsThenGPT2, "in 2024") == ["in", " ", "2", "0", "2", "4"])
        #expect(words(.llama3Style(maxDigits: 1), "Hi there\n\n  x12") == ["Hi", " there", "\n\n", " ", " x", "1", "2"])
        #expect(words(.llama3Style(maxDigits: 3), "12345 IT'S") == ["123", "45", " IT", "'S"])
    }

    /// "<unk>" 0, "<s>" 1, "</s>" 2, bytes 3...258, then pieces with scores.
    static func tinySentencePiece() throws -> SentencePieceTokenizer {
        var tokens = ["<unk>", "<s>", "</s>"]
        var types: [TokenType] = [.unknown, .control, .control]
        var scores: [Float] = [0, 0, 0]
        for b in 0...255 {
            tokens.append(String(format: "<0x%02X>", b))
            types.append(.byte)
            scores.append(0)
        }
        let pieces: [(String, Float)] = [("▁", -10), ("h", -10), ("e", -10), ("l", -10), ("o", -10),
                                         ("ll", -1), ("llo", -2), ("▁h", -3), ("▁he", -4), ("▁hello", -5)]
        for (text, score) in pieces {
            tokens.append(text)
            types.append(.normal)
            scores.append(score)
        }
        return try SentencePieceTokenizer(vocabulary: TokenizerVocabulary(
            model: "llama", tokens: tokens, tokenTypes: types, scores: scores, bosID: 1, eosID: 2,
            unknownID: 0, addBOSByDefault: true, addSpacePrefix: true))
    }

    @Test func sentencePieceMergesHighestScoreFirst() throws {
        let t = try Self.tinySentencePiece()
        // ▁ h e l l o -> ll, llo, ▁h, ▁he, ▁hello
        #expect(t.encode("hello", addBOS: true, parseSpecial: false) == [1, 268])
        // ▁ h é: "▁h" merges, é has no piece -> bytes C3 A9
        #expect(t.encode("hé", addBOS: false, parseSpecial: false) == [266, 3 + 0xC3, 3 + 0xA9])
        #expect(t.encode("hello</s>", addBOS: false, parseSpecial: true) == [268, 2])
        #expect(t.decode([1, 268, 266, 3 + 0xC3, 3 + 0xA9]) == "<s>hello hé")
        #expect(t.decode(t.encode("hello hello", addBOS: false, parseSpecial: false)) == "hello hello")
    }

    @Test func factoryRejectsUnknownModelsAndPreTokenizers() {
        #expect(throws: LLMError.self) { try TokenizerFactory.make(vocabulary: TokenizerVocabulary(model: "wordpiece", tokens: ["a"])) }
        #expect(throws: LLMError.self) { try TokenizerFactory.make(vocabulary: TokenizerVocabulary(model: "gpt2", preTokenizer: "mystery", tokens: ["a"])) }
    }
}

