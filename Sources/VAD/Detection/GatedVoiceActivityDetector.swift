import Foundation

/// Settings of the energy gate in front of an expensive detector.
public struct EnergyGateConfig: Sendable, Codable, Equatable {
    /// Frames quieter than this skip the inner detector and score 0 (digital silence, an idle
    /// microphone). -60 dBFS is well below quiet speech at a normal distance (about -45).
    public var minimumLevelDbfs: Float = -60
    /// After this long continuously gated, the inner session is reset, so it resumes from the
    /// state it would have reached in silence rather than from state frozen mid-speech.
    public var resetInnerAfterMs: Int = 320

    public init(minimumLevelDbfs: Float = -60, resetInnerAfterMs: Int = 320) {
        self.minimumLevelDbfs = minimumLevelDbfs
        self.resetInnerAfterMs = resetInnerAfterMs
    }
    public static let `default` = EnergyGateConfig()
}

/// An energy gate in front of another detector (Silero): near-silent frames cost one RMS
/// instead of a network pass. Louder frames go to the inner detector unchanged.
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
    private let resetAfterFrames: Int
    private var gatedRun = 0
    /// Frames scored by the inner detector and frames skipped, since the last reset.
    public private(set) var innerFrames = 0
    public private(set) var gatedFrames = 0

    public var frameSize: Int { inner.frameSize }

    public init(inner: Inner, gate: EnergyGateConfig, sampleRate: Int) {
        self.inner = inner
        self.gate = gate
        resetAfterFrames = max(1, gate.resetInnerAfterMs * sampleRate / 1000 / inner.frameSize)
    }

    public mutating func probability(of frame: [Float]) -> Float {
        if rmsDecibels(frame) < gate.minimumLevelDbfs {
            gatedFrames += 1
            gatedRun += 1
            if gatedRun == resetAfterFrames { inner.reset() }
            return 0
        }
        gatedRun = 0
        innerFrames += 1
        return inner.probability(of: frame)
    }

    public mutating func reset() {
        inner.reset()
        gatedRun = 0
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
