import Foundation

/// Settings of the energy detector. Levels in dBFS, rates per second of audio.
public struct EnergyDetectorConfig: Sendable, Codable, Equatable {
    /// Samples per second.
    public var sampleRate: Int = 16000
    /// Samples per frame (512 = 32 ms at 16 kHz, the same framing as Silero).
    public var frameSize: Int = 512
    /// A frame this far above the noise floor has probability 0.5.
    public var snrThresholdDb: Float = 10
    /// Width of the logistic ramp around the threshold: probability goes 0.12 -> 0.88 over 4 slopes.
    public var slopeDb: Float = 2
    /// Frames quieter than this are never speech, whatever the floor (an idle microphone).
    public var absoluteGateDbfs: Float = -55
    /// How fast the floor rises towards louder frames (stationary noise that got louder).
    /// Slow, so speech lasting seconds does not become the floor.
    public var floorRiseDbPerSecond: Float = 3
    /// Fraction of the gap closed per frame when a frame is quieter than the floor (fast fall).
    public var floorFallFraction: Float = 0.5

    public init() {}
    public static let `default` = EnergyDetectorConfig()
}

/// An energy detector: frame RMS in dBFS against an adaptive noise floor, mapped to a
/// pseudo-probability with a logistic ramp. Costs a few hundred nanoseconds per frame; it
/// knows loud from quiet, not speech from music or a slammed door. Used as the cheap first
/// gate in front of Silero and as the fallback when the Silero model file is missing.
///
/// The floor starts at the first frame's level (streams usually begin with the room, not a
/// word), falls quickly to quieter frames and rises slowly towards louder ones.
public struct EnergyVoiceActivityDetector: VoiceActivityDetecting {
    public let config: EnergyDetectorConfig
    public var sampleRate: Int { config.sampleRate }
    public var frameSize: Int { config.frameSize }

    public init(config: EnergyDetectorConfig = .default) {
        precondition(config.frameSize > 0 && config.sampleRate > 0, "frame size and sample rate must be positive")
        self.config = config
    }

    public func makeSession() -> EnergyVADSession { EnergyVADSession(config: config) }
}

/// Per-stream state of `EnergyVoiceActivityDetector`: the noise floor.
public struct EnergyVADSession: VoiceActivitySession {
    public let config: EnergyDetectorConfig
    /// Current noise floor estimate in dBFS (nil before the first frame).
    public private(set) var noiseFloorDbfs: Float?
    /// Level of the last frame in dBFS.
    public private(set) var lastLevelDbfs: Float = -120

    public var frameSize: Int { config.frameSize }

    public init(config: EnergyDetectorConfig = .default) { self.config = config }

    public mutating func probability(of frame: [Float]) -> Float {
        precondition(frame.count == config.frameSize, "energy VAD frame must be \(config.frameSize) samples, got \(frame.count)")
        let level = rmsDecibels(frame)
        lastLevelDbfs = level
        let floor = noiseFloorDbfs ?? level
        let probability: Float
        if level < config.absoluteGateDbfs {
            probability = 0
        } else {
            let snr = level - floor
            probability = 1 / (1 + expf(-(snr - config.snrThresholdDb) / config.slopeDb))
        }
        // Update the floor after scoring this frame.
        if level < floor {
            noiseFloorDbfs = floor + (level - floor) * config.floorFallFraction
        } else {
            let risePerFrame = config.floorRiseDbPerSecond * Float(config.frameSize) / Float(config.sampleRate)
            noiseFloorDbfs = min(level, floor + risePerFrame)
        }
        return probability
    }

    public mutating func reset() {
        noiseFloorDbfs = nil
        lastLevelDbfs = -120
    }
}
