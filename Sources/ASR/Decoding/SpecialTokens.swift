/// The token ids Whisper's decoding rules refer to.
public struct WhisperSpecialTokens: Sendable, Equatable {
    public var endOfText: Int
    public var startOfTranscript: Int
    public var transcribe: Int
    public var translate: Int
    public var startOfLM: Int
    public var startOfPrevious: Int
    public var noSpeech: Int
    public var noTimestamps: Int
    /// `<|0.00|>`; timestamp token t means t * 0.02 s.
    public var timestampBegin: Int
    /// The last timestamp token (`<|30.00|>`), the last id of the vocabulary.
    public var timestampEnd: Int
    /// Language code ("en") -> language token id; empty for English-only models.
    public var languages: [String: Int]

    public init(endOfText: Int, startOfTranscript: Int, transcribe: Int, translate: Int, startOfLM: Int,
                startOfPrevious: Int, noSpeech: Int, noTimestamps: Int, timestampBegin: Int, timestampEnd: Int,
                languages: [String: Int]) {
        self.endOfText = endOfText
        self.startOfTranscript = startOfTranscript
        self.transcribe = transcribe
        self.translate = translate
        self.startOfLM = startOfLM
        self.startOfPrevious = startOfPrevious
        self.noSpeech = noSpeech
        self.noTimestamps = noTimestamps
        self.timestampBegin = timestampBegin
        self.timestampEnd = timestampEnd
        self.languages = languages
    }

    /// Seconds per timestamp step.
    public static let secondsPerTimestamp = 0.02

    public var isMultilingual: Bool { !languages.isEmpty }
}

extension WhisperSpecialTokens {
    /// Builds the ids from special token names (`<|endoftext|>`, `<|startoftranscript|>`, ...,
    /// `<|en|>`), as a tokenizer's added-token table lists them. `<|nospeech|>` and
    /// `<|nocaptions|>` are the same token under two names.
    public init(named ids: [String: Int], vocabularySize: Int, path: String) throws {
        func id(_ names: String...) throws -> Int {
            for name in names { if let value = ids[name] { return value } }
            throw ASRError.missingSpecialToken(name: names[0], path: path)
        }
        let noTimestamps = try id("<|notimestamps|>")
        var languages: [String: Int] = [:]
        let start = try id("<|startoftranscript|>")
        let translate = try id("<|translate|>")
        for (name, value) in ids where value > start && value < translate && name.hasPrefix("<|") && name.hasSuffix("|>") {
            languages[String(name.dropFirst(2).dropLast(2))] = value
        }
        self.init(endOfText: try id("<|endoftext|>"), startOfTranscript: start,
                  transcribe: try id("<|transcribe|>"), translate: translate, startOfLM: try id("<|startoflm|>"),
                  startOfPrevious: try id("<|startofprev|>"), noSpeech: try id("<|nospeech|>", "<|nocaptions|>"),
                  noTimestamps: noTimestamps, timestampBegin: noTimestamps + 1, timestampEnd: vocabularySize - 1,
                  languages: languages)
    }
}

extension WhisperSpecialTokens {
    /// The ids of a loaded tokenizer; `vocabularySize` is the model's output size.
    public init(tokenizer: WhisperTokenizer, vocabularySize: Int) {
        self.init(endOfText: tokenizer.eot, startOfTranscript: tokenizer.sot, transcribe: tokenizer.transcribe,
                  translate: tokenizer.translate, startOfLM: tokenizer.startOfLM, startOfPrevious: tokenizer.startOfPrev,
                  noSpeech: tokenizer.noSpeech, noTimestamps: tokenizer.noTimestamps,
                  timestampBegin: tokenizer.timestampBegin, timestampEnd: vocabularySize - 1,
                  languages: tokenizer.isMultilingual ? tokenizer.languages : [:])
    }
}
