import Audio
import Foundation

/// Where spoken replies go. `speak` returns once the text has been played out (so the caller
/// knows when to listen again); cancelling the calling task cuts the speech short.
public protocol SpeechOutput: Sendable {
    func speak(_ text: String) async throws
    /// False for an output that makes no sound (no need to gate the microphone for it).
    var isAudible: Bool { get }
}

extension SpeechOutput {
    public var isAudible: Bool { true }
}

/// `--no-speak`: replies are only printed and sent as events.
public struct SilentSpeechOutput: SpeechOutput {
    public init() {}
    public func speak(_ text: String) async throws {}
    public var isAudible: Bool { false }
}

/// Speaks with espeak-ng (`SpeechSynthesizer`, 22.05 kHz into memory) through ALSA playback.
///
/// The device is opened for each reply and closed after it has drained, so Hark holds no
/// sound device while silent. Calls are played one after another, never mixed.
///
/// Threading: synthesis and the blocking ALSA writes run on a private serial queue, never on
/// the caller's executor.
public final class SpeakerOutput: SpeechOutput, @unchecked Sendable {
    public let device: String
    public let configuration: ALSAConfiguration?
    public let voice: SpeechSynthesizer.Voice
    /// Sees every chunk just before it is played (mono, at the synthesizer's rate): a level
    /// meter, or a test that feeds Hark's voice back into its microphone as echo.
    public let monitor: (@Sendable (_ samples: [Float], _ sampleRate: Int) -> Void)?
    private let queue = DispatchQueue(label: "hark.speech.output")

    /// Samples per write: 50 ms, so a cancellation stops the speech within about that.
    static let chunkSeconds = 0.05

    /// - Parameters:
    ///   - device: ALSA playback device ("default", "plughw:1,0", or one defined in `configuration`).
    ///   - configuration: in-memory ALSA configuration (tests: the `file` plugin).
    public init(device: String = "default", configuration: ALSAConfiguration? = nil,
                voice: SpeechSynthesizer.Voice = .default,
                monitor: (@Sendable (_ samples: [Float], _ sampleRate: Int) -> Void)? = nil) {
        self.monitor = monitor
        self.device = device
        self.configuration = configuration
        self.voice = voice
    }

    public func speak(_ text: String) async throws {
        let words = Self.speakable(text)
        guard !words.isEmpty else { return }
        let cancelled = CancelFlag()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                queue.async { [self] in
                    do {
                        try play(words, cancelled: cancelled)
                        continuation.resume()
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } onCancel: {
            cancelled.set()
        }
    }

    private func play(_ text: String, cancelled: CancelFlag) throws {
        guard !cancelled.isSet else { return }
        let speech = try SpeechSynthesizer.shared.synthesize(text, voice: voice)
        let playback = try AudioPlayback(device: device, sampleRate: speech.sampleRate, channels: 1,
                                         configuration: configuration)
        let chunk = max(1, Int(Double(speech.sampleRate) * Self.chunkSeconds))
        let clock = ContinuousClock()
        let started = clock.now
        var offset = 0
        while offset < speech.samples.count {
            // Released without draining: ALSA drops what is queued.
            if cancelled.isSet { return }
            let end = min(speech.samples.count, offset + chunk)
            let piece = Array(speech.samples[offset..<end])
            monitor?(piece, speech.sampleRate)
            try playback.write(piece)
            offset = end
        }
        try playback.drain()
        // A device that takes samples faster than real time (the null and file plugins) must
        // not end the speech early: the microphone stays gated as long as the voice lasts.
        let done = started + .milliseconds(Int64(speech.duration * 1000))
        while clock.now < done && !cancelled.isSet { Thread.sleep(forTimeInterval: 0.02) }
    }

    /// The text as it should be spoken: markdown emphasis, headings and code marks removed
    /// (a language model likes `**bold**`; espeak-ng would read out "asterisk").
    public static func speakable(_ text: String) -> String {
        let dropped: Set<Character> = ["*", "#", "`", "_", "~"]
        return String(text.filter { !dropped.contains($0) })
            .split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}

final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
