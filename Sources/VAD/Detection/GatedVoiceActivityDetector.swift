import Foundation

/// Settings of the energy gate in front of an expensive detector.
public struct EnergyGateConfig: Sendable, Codable, Equatable {
    /// Frames quieter than this skip the inner detector and score 0 (digital silence, an idle
    /// microphone). -60 dBFS is well below quiet speech at a normal distance (about -45).
    public var minimumLevelDbfs: Float = -60
    /// The gate closes only after this long below `minimumLevelDbfs`: short quiet stretches
    /// (pauses between words, noise hovering around the gate level) still go to the inner
    /// detector, so its state evolves as if ungated. When the gate closes the inner session is
    /// reset, so speech after a long quiet starts from a fresh stream, not from frozen state.
    public var closeAfterMs: Int = 320

    public init(minimumLevelDbfs: Float = -60, closeAfterMs: Int = 320) {
        self.minimumLevelDbfs = minimumLevelDbfs
        self.closeAfterMs = closeAfterMs
    }
    public static let `default` = EnergyGateConfig()
}

/// An energy gate in front of another detector (Silero): once the input has stayed near-silent
/// for `closeAfterMs`, frames cost one RMS instead of a network pass and score 0. The first
/// louder frame reopens the gate; everything else goes to the inner detector unchanged.
public struct GatedVoiceActivityDetector<Inner: VoiceActivityDetecting>: VoiceActivityDetecting {
    public let inner: Inner
    public let gate: EnergyGateConfig
    public var sampleRate: Int { inner.sampleRate }
    public var frameSize: Int { inner.frameSize }

    public init(inner: Inner, gate: EnergyGateConfig = .default) {
        self.inner = inner
        self.gate = gate
    }

    public func makeSession() -> GatedVADSession<Inner.Session> {
        GatedVADSession(inner: inner.makeSession(), gate: gate, sampleRate: inner.sampleRate)
    }
}

/// Per-stream state of `GatedVoiceActivityDetector`.
public struct GatedVADSession<Inner: VoiceActivitySession>: VoiceActivitySession {
    public private(set) var inner: Inner
    public let gate: EnergyGateConfig
    private let closeAfterFrames: Int
    private var quietRun = 0
    /// Frames scored by the inner detector and frames skipped, since the last reset.
    public private(set) var innerFrames = 0
    public private(set) var gatedFrames = 0

    public var frameSize: Int { inner.frameSize }

    public init(inner: Inner, gate: EnergyGateConfig, sampleRate: Int) {
        self.inner = inner
        self.gate = gate
        closeAfterFrames = max(1, gate.closeAfterMs * sampleRate / 1000 / inner.frameSize)
    }

    public mutating func probability(of frame: [Float]) -> Float {
        if rmsDecibels(frame) < gate.minimumLevelDbfs {
            quietRun += 1
            if quietRun > closeAfterFrames {
                if quietRun == closeAfterFrames + 1 { inner.reset() }
                gatedFrames += 1
                return 0
            }
        } else {
            quietRun = 0
        }
        innerFrames += 1
        return inner.probability(of: frame)
    }

    public mutating func reset() {
        inner.reset()
        quietRun = 0
        innerFrames = 0
        gatedFrames = 0
    }
}

/// Choosing a detector at run time.
public enum VoiceActivityDetectors {
    /// Silero VAD behind the energy gate when `sileroModel` exists; the energy detector alone
    /// (the documented fallback) when the file is missing. A file that exists but cannot be
    /// loaded is an error, not a silent fallback.
    public static func makeDefault(sileroModel url: URL, gate: EnergyGateConfig = .default,
                                   energy: EnergyDetectorConfig = .default) throws(VADError) -> any VoiceActivityDetecting {
        guard FileManager.default.fileExists(atPath: url.path) else {
            return EnergyVoiceActivityDetector(config: energy)
        }
        return GatedVoiceActivityDetector(inner: try SileroVADModel(contentsOf: url), gate: gate)
    }
}
