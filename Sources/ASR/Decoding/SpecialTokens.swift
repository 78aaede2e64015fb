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
