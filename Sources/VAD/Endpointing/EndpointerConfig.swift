/// Endpointing settings: when an utterance starts and ends. Durations in milliseconds unless
/// named otherwise; thresholds are speech probabilities (0...1).
public struct EndpointerConfig: Sendable, Codable, Equatable {
    /// Probability at or above which speech may start.
    public var startThreshold: Float = 0.5
    /// Once speaking, frames at or above this still count as speech (hysteresis: below start).
    public var endThreshold: Float = 0.35
    /// Speech must last this long (from the first frame above `startThreshold`, staying above
    /// `endThreshold`) before `speechStart` is emitted; shorter blips are ignored.
    public var minSpeechMs: Int = 250
    /// Silence (frames below `endThreshold`) that ends an utterance.
    public var trailingSilenceMs: Int = 600
    /// Audio kept before the detected start.
    public var padBeforeMs: Int = 200
    /// Audio kept after the detected end (capped by the audio seen when the end is decided).
    public var padAfterMs: Int = 200
    /// Longest utterance; a longer one is cut here and a new one may start right after.
    public var maxUtteranceSeconds: Double = 30

    public init(startThreshold: Float = 0.5, endThreshold: Float = 0.35, minSpeechMs: Int = 250,
                trailingSilenceMs: Int = 600, padBeforeMs: Int = 200, padAfterMs: Int = 200,
                maxUtteranceSeconds: Double = 30) {
        self.startThreshold = startThreshold
        self.endThreshold = endThreshold
        self.minSpeechMs = minSpeechMs
        self.trailingSilenceMs = trailingSilenceMs
        self.padBeforeMs = padBeforeMs
        self.padAfterMs = padAfterMs
        self.maxUtteranceSeconds = maxUtteranceSeconds
    }

    public static let `default` = EndpointerConfig()

    /// Checks every field; the endpointer calls this on construction.
    public func validate() throws(VADError) {
        guard (0...1).contains(startThreshold) else {
            throw .invalidConfiguration(field: "startThreshold", value: "\(startThreshold)", reason: "must be within 0...1")
        }
        guard (0...1).contains(endThreshold), endThreshold <= startThreshold else {
            throw .invalidConfiguration(field: "endThreshold", value: "\(endThreshold)", reason: "must be within 0...startThreshold (\(startThreshold))")
        }
        for (field, value) in [("minSpeechMs", minSpeechMs), ("trailingSilenceMs", trailingSilenceMs),
                               ("padBeforeMs", padBeforeMs), ("padAfterMs", padAfterMs)] where value < 0 {
            throw .invalidConfiguration(field: field, value: "\(value)", reason: "must not be negative")
        }
        guard maxUtteranceSeconds.isFinite, maxUtteranceSeconds > 0 else {
            throw .invalidConfiguration(field: "maxUtteranceSeconds", value: "\(maxUtteranceSeconds)", reason: "must be positive")
        }
    }
}
