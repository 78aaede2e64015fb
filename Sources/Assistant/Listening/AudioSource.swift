import Audio
import Foundation

/// Where live audio comes from: 16 kHz mono chunks, read one after another by one thread.
/// `read()` may block (a device waits for its next period); nil means the stream ended.
public protocol AudioSourcing: Sendable {
    /// Samples per second of every chunk.
    var sampleRate: Int { get }
    /// The next chunk (any size), or nil at the end of the stream.
    func read() throws -> [Float]?
}

/// An ALSA capture device (or a device defined in an in-memory configuration, e.g. the `file`
/// plugin) as an audio source. Hardware paces itself; wrap a file-plugin device in
/// `PacedAudioSource` to hear it in real time.
public struct CaptureAudioSource: AudioSourcing {
    public let capture: AudioCapture
    public var sampleRate: Int { capture.sampleRate }

    /// Opens `device` at 16 kHz mono with `periodFrames` per read (512 = 32 ms, one VAD frame).
    public init(device: String, periodFrames: Int = 512, configuration: ALSAConfiguration? = nil) throws {
        capture = try AudioCapture(device: device, sampleRate: 16_000, channels: 1,
                                   periodFrames: periodFrames, configuration: configuration)
    }

    public func read() throws -> [Float]? { try capture.read() }
}

/// Samples already in memory (a loaded WAV file), handed out in period-sized chunks.
/// Unpaced: reads return immediately (wrap in `PacedAudioSource` for real time).
public final class SamplesAudioSource: AudioSourcing, @unchecked Sendable {
    public let sampleRate: Int
    public let samples: [Float]
    public let periodFrames: Int
    private let lock = NSLock()
    private var offset = 0

    public init(samples: [Float], sampleRate: Int = 16_000, periodFrames: Int = 512) {
        precondition(periodFrames > 0, "periodFrames must be positive")
        self.samples = samples
        self.sampleRate = sampleRate
        self.periodFrames = periodFrames
    }

    /// Loads a WAV file (any rate and channel count; converted to 16 kHz mono).
    public convenience init(wavPath: String, periodFrames: Int = 512) throws {
        let clip = try AudioClip.load(wavPath, sampleRate: 16_000)
        self.init(samples: clip.samples, sampleRate: clip.sampleRate, periodFrames: periodFrames)
    }

    public func read() throws -> [Float]? {
        lock.withLock {
            guard offset < samples.count else { return nil }
            let end = min(samples.count, offset + periodFrames)
            defer { offset = end }
            return Array(samples[offset..<end])
        }
    }
}

/// Delivers another source's chunks no faster than real time: after `n` samples it waits until
/// `n / sampleRate` seconds have passed since the first read, as a sound card would.
/// `speed` above 1 plays faster (tests that need a live-like source without waiting).
public final class PacedAudioSource: AudioSourcing, @unchecked Sendable {
    public let inner: any AudioSourcing
    public let speed: Double
    public var sampleRate: Int { inner.sampleRate }
    private let lock = NSLock()
    private var started: ContinuousClock.Instant?
    private var delivered = 0

    public init(_ inner: any AudioSourcing, speed: Double = 1) {
        precondition(speed > 0, "speed must be positive")
        self.inner = inner
        self.speed = speed
    }

    public func read() throws -> [Float]? {
        try lock.withLock {
            let clock = ContinuousClock()
            let start = started ?? clock.now
            started = start
            // A chunk is available once its last sample has "been spoken".
            guard let chunk = try inner.read() else { return nil }
            delivered += chunk.count
            let due = start + .microseconds(Int64(Double(delivered) * 1_000_000 / (Double(sampleRate) * speed)))
            let wait = due - clock.now
            if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.seconds) + Double(wait.components.attoseconds) * 1e-18) }
            return chunk
        }
    }
}
