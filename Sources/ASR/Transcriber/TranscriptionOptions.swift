import Foundation

/// What the recognizer should do with the audio.
public enum TranscriptionTask: String, Sendable, Codable, CaseIterable {
    /// Write down what is said, in the language spoken.
    case transcribe
    /// Write it down in English (multilingual models only).
    case translate
}

/// Per-call settings of `WhisperTranscriber.transcribe`. Every field has the default of
/// faster-whisper's `transcribe`, so `.default` behaves like the reference.
public struct TranscriptionOptions: Sendable, Codable, Equatable {
    /// Beam width at temperature 0; 1 decodes greedily.
    public var beamSize: Int = 5
    /// Language code ("en", "de", ...); nil detects it (multilingual models) or is English.
    public var language: String? = nil
    public var task: TranscriptionTask = .transcribe
    /// The fallback ladder: a window is decoded again at the next temperature when its text
    /// repeats itself (compression ratio) or is unlikely (average log-probability).
    public var temperatures: [Float] = [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    public var compressionRatioThreshold: Double? = 2.4
    public var logProbThreshold: Float? = -1.0
    /// A window with no-speech probability above this (and log-probability below
    /// `logProbThreshold`) is silence: it gives no text.
    public var noSpeechThreshold: Float? = 0.6
    /// Hark's extra silence gate, applied after Whisper's own no-speech rule, against the short
    /// hallucinations tiny models produce on silence, hum and noise ("You", "Okay.", "Mmm..."):
    /// a window whose speech confidence, (1 - no-speech probability) x exp(average
    /// log-probability), is below this gives no text. Real speech, even a one-word command,
    /// stays above 0.17 on the corpus; hallucinations on digital silence and hum are below 0.04.
    /// nil turns the gate off (faster-whisper behaviour).
    public var minimumSpeechConfidence: Float? = 0.1
    /// The second half of the gate: a window is also silence when its no-speech probability is
    /// above `gateNoSpeechThreshold` and its average log-probability below
    /// `gateLogProbThreshold` (Whisper's rule is 0.6 and -1.0; the hallucinations on near
    /// silence, noise and whale song sit at 0.55-0.57 and -0.95..-0.99, while short commands
    /// with that much no-speech probability are decoded with log-probability above -0.85).
    /// A flat confidence threshold of 0.3 dropped 7 of the 56 one-word commands of category B.
    public var gateNoSpeechThreshold: Float? = 0.5
    public var gateLogProbThreshold: Float = -0.9
    /// Text that precedes the first window, to steer vocabulary and spelling.
    public var initialPrompt: String? = nil
    /// Prompt each window with the text of the previous ones (reset when temperature exceeds
    /// `promptResetOnTemperature`).
    public var conditionOnPreviousText = true
    public var promptResetOnTemperature: Float = 0.5
    /// Per-word timing from the cross-attention of the model's alignment heads (as
    /// faster-whisper's `word_timestamps`): fills `TranscriptSegment.words` and, like the
    /// reference, moves segment times to their first and last words. Costs one more decoder
    /// pass over each window's text.
    public var wordTimestamps = false
    /// Decode without timestamp tokens (one segment per window).
    public var withoutTimestamps = false
    /// Largest time of the first timestamp in a window, seconds.
    public var maxInitialTimestamp: Double = 1.0
    /// Tokens never generated; -1 stands for the model's default non-speech set (`config.json`).
    public var suppressTokens: [Int] = [-1]
    /// Forbid a blank or end of text as the first token.
    public var suppressBlank = true
    /// Threads of this decode's matrix products and attention (nil: OpenBLAS's setting,
    /// `OPENBLAS_NUM_THREADS` or one per core).
    public var threads: Int? = nil
    /// Encode short audio (under 30 s) on a window just long enough for it (plus a second)
    /// instead of the full 30 s. Faster; off by default because the transcripts may differ.
    /// Greedy decodes on such a window stop where the text starts to loop (`LoopGuard`).
    public var shortenedEncoderWindow = false
    /// The shortest shortened window, seconds (the audio plus a second, rounded up to whole
    /// seconds, and at least this).
    public var shortenedWindowMinimumSeconds = 2
    /// At most this many tokens decoded per window; nil keeps the reference limit (224 for
    /// the 448-token context). A live listener bounds it by the utterance's length, so a
    /// hallucination loop on a cut-off or noisy utterance stops early instead of running on.
    public var maxNewTokens: Int? = nil
    /// Text tokens expected to begin the transcript, e.g. an earlier decode of the same
    /// utterance (`segments.flatMap(\.tokens)` of a partial's transcript). Used only by greedy
    /// decoding at temperature 0 of the first window: the decoder checks the draft in one pass
    /// and keeps the tokens it would have chosen itself, decodes on from the first it would
    /// not, and checks the draft's rest in another pass where its own tokens meet the draft
    /// again. Changes the speed, not the result (up to float rounding of rows computed
    /// together); a wrong draft costs its passes. nil or empty: plain decoding.
    public var draftTokens: [Int]? = nil

    public init() {}

    public static let `default` = TranscriptionOptions()
}

/// One stretch of text with its time in the audio.
public struct TranscriptSegment: Sendable, Codable, Equatable {
    /// Seconds from the start of the audio.
    public var start: Double
    public var end: Double
    public var text: String
    /// Token ids of the segment (timestamps included).
    public var tokens: [Int]
    /// Average log-probability of the window's decoded tokens.
    public var avgLogProb: Float
    public var noSpeechProb: Float
    /// Temperature the window was decoded at (0 unless it fell back).
    public var temperature: Float
    public var compressionRatio: Double
    /// Words with times, when asked for and available.
    public var words: [TranscriptWord]?
    /// The lowest log-probability among the window's chosen text tokens, for greedy decodes
    /// (see `WindowDecoding.minTokenLogProb`); nil otherwise.
    public var minTokenLogProb: Float? = nil
}

/// One word with its time.
public struct TranscriptWord: Sendable, Codable, Equatable {
    public var start: Double
    public var end: Double
    public var word: String
    public var probability: Float
}

/// The recognizer's output for one recording.
public struct Transcript: Sendable, Codable, Equatable {
    public var segments: [TranscriptSegment]
    /// All segments' text joined (leading space trimmed).
    public var text: String
    /// Language code of the audio (detected or given).
    public var language: String
    /// Every segment's tokens in order: what the decode produced, and the draft of a later
    /// decode of the same speech (`TranscriptionOptions.draftTokens`).
    public var tokens: [Int] { segments.flatMap(\.tokens) }
}
