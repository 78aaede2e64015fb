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
    /// Boundary refinement by energy, at most this far: the detector decides *that* speech
    /// started or ended, then 8 ms blocks at the edge that are within `refinementMarginDb` of
    /// the noise floor are trimmed off (Silero's probability lags the end of speech by one to
    /// three 32 ms frames). 0 turns it off. Never applied in the first 320 ms of a stream,
    /// before the noise floor is known.
    public var energyRefinementMs: Int = 128
    /// Blocks quieter than noise floor + this many dB count as silence when refining.
    public var refinementMarginDb: Float = 10

    public init(startThreshold: Float = 0.5, endThreshold: Float = 0.35, minSpeechMs: Int = 250,
                trailingSilenceMs: Int = 600, padBeforeMs: Int = 200, padAfterMs: Int = 200,
                maxUtteranceSeconds: Double = 30, energyRefinementMs: Int = 128, refinementMarginDb: Float = 10) {
        self.startThreshold = startThreshold
        self.endThreshold = endThreshold
        self.minSpeechMs = minSpeechMs
        self.trailingSilenceMs = trailingSilenceMs
        self.padBeforeMs = padBeforeMs
        self.padAfterMs = padAfterMs
        self.maxUtteranceSeconds = maxUtteranceSeconds
        self.energyRefinementMs = energyRefinementMs
        self.refinementMarginDb = refinementMarginDb
    }

    public static let `default` = EndpointerConfig()

    private enum CodingKeys: String, CodingKey {
        case startThreshold, endThreshold, minSpeechMs, trailingSilenceMs, padBeforeMs, padAfterMs
        case maxUtteranceSeconds, energyRefinementMs, refinementMarginDb
    }

    /// Missing keys take their defaults, so a settings file may name only what it changes.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = EndpointerConfig()
        startThreshold = try container.decodeIfPresent(Float.self, forKey: .startThreshold) ?? defaults.startThreshold
        endThreshold = try container.decodeIfPresent(Float.self, forKey: .endThreshold) ?? defaults.endThreshold
        minSpeechMs = try container.decodeIfPresent(Int.self, forKey: .minSpeechMs) ?? defaults.minSpeechMs
        trailingSilenceMs = try container.decodeIfPresent(Int.self, forKey: .trailingSilenceMs) ?? defaults.trailingSilenceMs
        padBeforeMs = try container.decodeIfPresent(Int.self, forKey: .padBeforeMs) ?? defaults.padBeforeMs
        padAfterMs = try container.decodeIfPresent(Int.self, forKey: .padAfterMs) ?? defaults.padAfterMs
        maxUtteranceSeconds = try container.decodeIfPresent(Double.self, forKey: .maxUtteranceSeconds) ?? defaults.maxUtteranceSeconds
        energyRefinementMs = try container.decodeIfPresent(Int.self, forKey: .energyRefinementMs) ?? defaults.energyRefinementMs
        refinementMarginDb = try container.decodeIfPresent(Float.self, forKey: .refinementMarginDb) ?? defaults.refinementMarginDb
    }

    /// Checks every field; the endpointer calls this on construction.
    public func validate() throws(VADError) {
        guard (0...1).contains(startThreshold) else {
            throw .invalidConfiguration(field: "startThreshold", value: "\(startThreshold)", reason: "must be within 0...1")
        }
        guard (0...1).contains(endThreshold), endThreshold <= startThreshold else {
            throw .invalidConfiguration(field: "endThreshold", value: "\(endThreshold)", reason: "must be within 0...startThreshold (\(startThreshold))")
        }
        for (field, value) in [("minSpeechMs", minSpeechMs), ("trailingSilenceMs", trailingSilenceMs),
                               ("padBeforeMs", padBeforeMs), ("padAfterMs", padAfterMs),
                               ("energyRefinementMs", energyRefinementMs)] where value < 0 {
            throw .invalidConfiguration(field: field, value: "\(value)", reason: "must not be negative")
        }
        guard maxUtteranceSeconds.isFinite, maxUtteranceSeconds > 0 else {
            throw .invalidConfiguration(field: "maxUtteranceSeconds", value: "\(maxUtteranceSeconds)", reason: "must be positive")
        }
    }
}
