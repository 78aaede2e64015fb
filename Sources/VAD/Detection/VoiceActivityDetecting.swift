import Foundation

// The VAD module: is someone speaking, and where does an utterance start and end?
//
//   16 kHz mono [Float] --(512-sample frames)--> VoiceActivitySession --> probability per frame
//                                                        |
//                     Endpointer (hysteresis, min speech, trailing silence, padding, max length)
//                                                        v
//                            .speechStart(sample:) / .speechEnd(startSample:endSample:)
//
// Detectors: SileroVADModel (the network, weights from silero_vad_16k.safetensors),
// EnergyVoiceActivityDetector (RMS against an adaptive floor; the fallback), and
// GatedVoiceActivityDetector (an energy gate in front of Silero so idle listening is nearly
// free). VoiceActivityDetectors.makeDefault picks one at run time.
//
// Threading: detectors (models, configs) are immutable and shared freely across tasks.
// Sessions and endpointers are values holding one stream's state; one task owns each.

/// A voice activity detector: immutable, shared configuration or weights that hand out
/// per-stream sessions. Each session turns one frame of `frameSize` mono samples at
/// `sampleRate` (floats in -1...1) into a speech probability in 0...1.
///
/// ```swift
/// let detector = try SileroVADModel(contentsOf: url)   // or EnergyVoiceActivityDetector()
/// var session = detector.makeSession()
/// for frame in frames { let p = session.probability(of: frame) }
/// ```
public protocol VoiceActivityDetecting: Sendable {
    associatedtype Session: VoiceActivitySession
    /// Samples per second the detector expects.
    var sampleRate: Int { get }
    /// Samples per frame each session consumes.
    var frameSize: Int { get }
    /// A fresh per-stream session (its own state; the detector is not mutated).
    func makeSession() -> Session
}

/// The per-stream state of a detector. Owned by one task; `mutating` calls in stream order.
public protocol VoiceActivitySession: Sendable {
    /// Samples per frame; `probability(of:)` traps on any other count (a programmer error).
    var frameSize: Int { get }
    /// The speech probability (0...1) of the next frame of the stream.
    mutating func probability(of frame: [Float]) -> Float
    /// Forgets the stream: the next frame is treated as the start of a new one.
    mutating func reset()
}

/// Loudness of a frame in dB relative to full scale (a full-scale square wave is 0 dBFS).
/// Digital silence returns `floor`.
public func rmsDecibels<Samples: Collection>(_ frame: Samples, floor: Float = -120) -> Float where Samples.Element == Float {
    guard !frame.isEmpty else { return floor }
    var sum: Double = 0
    for sample in frame { sum += Double(sample) * Double(sample) }
    let meanSquare = sum / Double(frame.count)
    guard meanSquare > 0 else { return floor }
    return max(floor, Float(10 * log10(meanSquare)))
}
