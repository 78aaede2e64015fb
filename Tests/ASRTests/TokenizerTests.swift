import ASR
import Foundation
import HarkTestSupport
import Testing

/// The tokenizer against the Hugging Face `tokenizers` reference and the models' tokenizer.json.
@Suite struct TokenizerTests {
    struct Case: Decodable { let text: String; let ids: [Int] }

    static func referenceCases(_ model: String) throws -> [Case] {
        let url = ProjectPaths.fixtures.appendingPathComponent("asr/tokenizer_reference.json")
        return try #require(try JSONDecoder().decode([String: [Case]].self, from: Data(contentsOf: url))[model])
    }

    static func modelDirectory(_ name: String) -> URL { ProjectPaths.models.appendingPathComponent(name) }

    /// Added tokens (name -> id) straight from the model's tokenizer.json.
    static func addedTokens(_ model: String) throws -> [String: Int] {
        let data = try Data(contentsOf: modelDirectory(model).appendingPathComponent("tokenizer.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let added = try #require(root["added_tokens"] as? [[String: Any]])
        var out: [String: Int] = [:]
        for entry in added { out[entry["content"] as! String] = (entry["id"] as! Int) }
        return out
    }

    @Test(arguments: ["whisper-tiny.en", "whisper-base"])
    func encodeMatchesReference(model: String) throws {
        let tokenizer = try WhisperTokenizer(modelDirectory: Self.modelDirectory(model))
        for c in try Self.referenceCases(model) {
            #expect(tokenizer.encode(c.text) == c.ids, "\(model): \(c.text.debugDescription)")
            #expect(tokenizer.decode(c.ids) == c.text, "decode \(c.text.debugDescription)")
        }
    }

    @Test(arguments: ["whisper-tiny.en", "whisper-base"])
    func roundTrips(model: String) throws {
        let tokenizer = try WhisperTokenizer(modelDirectory: Self.modelDirectory(model))
        let texts = [
            " The quick brown fox jumps over the lazy dog.", "Zürich, Ελληνικά, русский, 日本語, 한국어, עברית",
            " emoji 👩‍👩‍👧 ok", "tabs\tand\r\nCRLF", "   ", "'s'S 'LL don't", " $100,000.50 (approx.) #1 @home",
        ]
        for text in texts {
            let ids = tokenizer.encode(text)
            #expect(!ids.isEmpty)
            #expect(ids.allSatisfy { $0 >= 0 && $0 < tokenizer.eot })
            #expect(tokenizer.decode(ids) == text, "\(text.debugDescription)")
        }
    }

    @Test func specialTokensOfTinyEn() throws {
        let tokenizer = try WhisperTokenizer(modelDirectory: Self.modelDirectory("whisper-tiny.en"))
        let added = try Self.addedTokens("whisper-tiny.en")
        #expect(tokenizer.eot == 50256 && added["<|endoftext|>"] == tokenizer.eot)
        #expect(tokenizer.sot == 50257 && added["<|startoftranscript|>"] == tokenizer.sot)
        #expect(tokenizer.translate == added["<|translate|>"] && tokenizer.translate == 50357)
        #expect(tokenizer.transcribe == added["<|transcribe|>"] && tokenizer.transcribe == 50358)
        #expect(tokenizer.startOfLM == added["<|startoflm|>"])
        #expect(tokenizer.startOfPrev == added["<|startofprev|>"] && tokenizer.startOfPrev == 50360)
        #expect(tokenizer.noSpeech == added["<|nocaptions|>"] && tokenizer.noSpeech == 50361)
        #expect(tokenizer.noTimestamps == added["<|notimestamps|>"] && tokenizer.noTimestamps == 50362)
        #expect(tokenizer.timestampBegin == 50363)
        #expect(tokenizer.vocabularySize == 51864)
        #expect(!tokenizer.isMultilingual)
        #expect(tokenizer.languages["en"] == 50258)
        #expect(tokenizer.startSequence() == [50257, 50362])
        #expect(tokenizer.startSequence(timestamps: true) == [50257])
    }

    @Test func specialTokensOfBase() throws {
        let tokenizer = try WhisperTokenizer(modelDirectory: Self.modelDirectory("whisper-base"))
        let added = try Self.addedTokens("whisper-base")
        #expect(tokenizer.eot == 50257 && added["<|endoftext|>"] == tokenizer.eot)
        #expect(tokenizer.sot == 50258 && added["<|startoftranscript|>"] == tokenizer.sot)
        #expect(tokenizer.translate == 50358 && tokenizer.transcribe == 50359)
        #expect(tokenizer.startOfPrev == 50361 && tokenizer.noSpeech == 50362)
        #expect(tokenizer.noTimestamps == 50363 && tokenizer.timestampBegin == 50364)
        #expect(tokenizer.vocabularySize == 51865)
        #expect(tokenizer.isMultilingual)
        #expect(tokenizer.languages.count == 99)
        #expect(tokenizer.languageCodes.first == "en" && tokenizer.languageCodes[1] == "zh")
        for (code, id) in tokenizer.languages { #expect(added["<|\(code)|>"] == id, "\(code)") }
        #expect(tokenizer.startSequence(language: "de") == [50258, added["<|de|>"]!, 50359, 50363])
        #expect(tokenizer.startSequence(language: "de", translate: true, timestamps: true) == [50258, added["<|de|>"]!, 50358])
        #expect(tokenizer.startSequence(language: "xx") == nil)
    }

    @Test func timestampsAndSpecialTokensInDecode() throws {
        let t = try WhisperTokenizer(modelDirectory: Self.modelDirectory("whisper-tiny.en"))
        let hello = t.encode(" Hello")
        let ids = [t.sot, t.timestampBegin] + hello + [t.timestampBegin + 50, t.eot]
        #expect(t.decode(ids) == " Hello")
        #expect(t.decode(ids, skipSpecial: false) == "<|startoftranscript|><|0.00|> Hello<|1.00|><|endoftext|>")
        #expect(t.isTimestamp(t.timestampBegin) && t.isTimestamp(t.timestampBegin + 1500))
        #expect(!t.isTimestamp(t.noTimestamps) && !t.isTimestamp(hello[0]) && !t.isTimestamp(t.vocabularySize))
        #expect(t.timestampSeconds(t.timestampBegin + 1500) == 30.0)
        #expect(t.tokens[t.timestampBegin + 1500] == "<|30.00|>")
        #expect(t.decode([-1, 999_999] + hello) == " Hello")
    }

    /// A character split over two tokens decodes whole only when the tokens decode together.
    @Test func multiByteCharactersSplitAcrossTokens() throws {
        let t = try WhisperTokenizer(modelDirectory: Self.modelDirectory("whisper-tiny.en"))
        let ids = t.encode("🎉")
        #expect(ids.count > 1)
        #expect(t.decode(ids) == "🎉")
        #expect(t.decode([ids[0]]).contains("\u{FFFD}"))
    }

    /// Real greedy output of the reference decodes to the expected words.
    @Test func decodesReferenceGreedyTokens() throws {
        struct Greedy: Decodable { let tokens: [Int] }
        struct Clip: Decodable { let file: String; let greedyNoTimestamps: Greedy }
        struct Reference: Decodable { let clips: [Clip] }
        let url = ProjectPaths.fixtures.appendingPathComponent("asr/decode_reference.json")
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        let t = try WhisperTokenizer(modelDirectory: Self.modelDirectory("whisper-tiny.en"))
        let jfk = try #require(reference.clips.first { $0.file.hasSuffix("jfk.wav") })
        let text = t.decode(jfk.greedyNoTimestamps.tokens)
        #expect(text.contains("ask not what your country can do for you"), "\(text)")
        #expect(t.encode(text) == jfk.greedyNoTimestamps.tokens.filter { $0 < t.eot })
    }

    @Test func missingAndMalformedFolders() throws {
        let dir = try TemporaryDirectory()
        #expect(throws: ASRError.self) { try WhisperTokenizer(modelDirectory: dir.url) }
        try Data().write(to: dir.file("vocabulary.txt"))
        #expect(throws: ASRError.self) { try WhisperTokenizer(modelDirectory: dir.url) }
        try "a\nb\n<|endoftext|>\n".write(to: dir.file("vocabulary.txt"), atomically: true, encoding: .utf8)
        do {
            _ = try WhisperTokenizer(modelDirectory: dir.url)
            Issue.record("expected a missing special token error")
        } catch let error as ASRError {
            #expect(error.description.contains("<|startoftranscript|>"))
        }
        try "{not json".write(to: dir.file("tokenizer.json"), atomically: true, encoding: .utf8)
        #expect(throws: ASRError.self) { try WhisperTokenizer(modelDirectory: dir.url) }
    }

    /// A vocabulary file without timestamp tokens gets them by id after <|notimestamps|>;
    /// without tokenizer.json, decoding works and encoding yields nothing.
    @Test func vocabularyWithoutTimestamps() throws {
        let dir = try TemporaryDirectory()
        let full = try String(contentsOf: Self.modelDirectory("whisper-tiny.en").appendingPathComponent("vocabulary.txt"), encoding: .utf8)
        let lines = full.split(separator: "\n", omittingEmptySubsequences: false)
        try (lines[0...50362].joined(separator: "\n") + "\n").write(to: dir.file("vocabulary.txt"), atomically: true, encoding: .utf8)
        let t = try WhisperTokenizer(modelDirectory: dir.url)
        #expect(t.vocabularySize == 51864)
        #expect(t.timestampBegin == 50363 && t.tokens[50363] == "<|0.00|>" && t.tokens[51863] == "<|30.00|>")
        #expect(t.encode("hello").isEmpty)
        #expect(t.decode([15496, 995]) == "Hello world")
    }
}

/// A hand-made model folder: merges as pairs and as strings, with JSON escapes.
@Suite struct TokenizerFileTests {
    static let specials = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|translate|>", "<|transcribe|>",
                           "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>"]

    static func folder(merges: String) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        let vocabulary = ["a", "b", "ab", "\"", "\\", "\"\\", "Ġ", "Ġab"] + specials
        try (vocabulary.joined(separator: "\n") + "\n").write(to: dir.file("vocabulary.txt"), atomically: true, encoding: .utf8)
        let json = #"{"added_tokens": [], "model": {"type": "BPE", "vocab": {"a": 0}, "merges": "# + merges + "}}"
        try json.write(to: dir.file("tokenizer.json"), atomically: true, encoding: .utf8)
        return dir
    }

    @Test func mergesAsStringsAndPairsWithEscapes() throws {
        for merges in [#"["a b", "\" \\", "Ġ ab"]"#, #"[["a", "b"], ["\"", "\\"], ["\u0120", "ab"]]"#] {
            let dir = try Self.folder(merges: merges)
            let t = try WhisperTokenizer(modelDirectory: dir.url)
            #expect(t.encode("ab") == [2], "\(merges)")
            #expect(t.encode("\"\\") == [5], "\(merges)")
            #expect(t.encode(" ab") == [7], "\(merges)")
            #expect(t.encode("ba") == [1, 0])
            #expect(t.eot == 8 && t.noTimestamps == 16 && t.timestampBegin == 17)
            #expect(t.vocabularySize == 17 + 1501)
        }
    }

    @Test func truncatedOrBrokenMergesAreErrors() throws {
        for merges in [#"["a b", "\" \\"#, #"["a b" "b"]"#, #"["\x"]"#, #"[["a"]]"#, #"["\ud800"]"#] {
            let dir = try Self.folder(merges: merges)
            #expect(throws: ASRError.self, "\(merges)") { try WhisperTokenizer(modelDirectory: dir.url) }
        }
    }
}
