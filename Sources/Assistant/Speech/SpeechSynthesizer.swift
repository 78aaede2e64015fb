import CEspeakNG
import Foundation

/// Synthesized speech: mono samples in -1...1 at `sampleRate` Hz.
public struct SynthesizedSpeech: Sendable, Equatable {
    public var samples: [Float]
    public var sampleRate: Int
    public var duration: Double { Double(samples.count) / Double(sampleRate) }
}

/// Text to speech with the espeak-ng C library (Debian's libespeak-ng), synthesized to memory so
/// the assistant can play it through ALSA (and stop listening while it speaks).
///
/// Threading: espeak-ng keeps global state, so there is one engine per process: `shared`
/// serialises every call with a lock. Synthesis runs in `AUDIO_OUTPUT_SYNCHRONOUS` mode, where
/// `espeak_Synth` returns only after the callback has delivered every sample.
public final class SpeechSynthesizer: @unchecked Sendable {
    /// Voice settings; the defaults suit short spoken replies.
    public struct Voice: Sendable, Codable, Equatable {
        public var name: String = "en-us"
        /// Words per minute (espeak-ng accepts 80...450).
        public var wordsPerMinute: Int = 165
        public var pitch: Int = 50
        public static let `default` = Voice()
        public init(name: String = "en-us", wordsPerMinute: Int = 165, pitch: Int = 50) {
            self.name = name
            self.wordsPerMinute = wordsPerMinute
            self.pitch = pitch
        }
    }

    public enum SynthesisError: Error, Sendable, CustomStringConvertible {
        case initialization
        case unknownVoice(String)
        case synthesis(code: Int32)
        public var description: String {
            switch self {
            case .initialization:
                "espeak-ng could not start: is its data installed (Debian package espeak-ng-data)?"
            case .unknownVoice(let name):
                "espeak-ng has no voice named '\(name)' (see `espeak-ng --voices`)"
            case .synthesis(let code):
                "espeak-ng failed to synthesize the text (error \(code))"
            }
        }
    }

    /// The process-wide engine.
    public static let shared = SpeechSynthesizer()

    private let lock = NSLock()
    private var sampleRate: Int32 = 0
    private var currentVoice: Voice?

    private init() {}

    /// Speaks `text` into memory.
    public func synthesize(_ text: String, voice: Voice = .default) throws -> SynthesizedSpeech {
        lock.lock()
        defer { lock.unlock() }
        if sampleRate == 0 {
            let rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nil, 0)
            guard rate > 0 else { throw SynthesisError.initialization }
            sampleRate = rate
            espeak_SetSynthCallback(collectSamples)
        }
        if currentVoice != voice {
            guard espeak_SetVoiceByName(voice.name) == EE_OK else { throw SynthesisError.unknownVoice(voice.name) }
            espeak_SetParameter(espeakRATE, Int32(max(80, min(450, voice.wordsPerMinute))), 0)
            espeak_SetParameter(espeakPITCH, Int32(max(0, min(100, voice.pitch))), 0)
            currentVoice = voice
        }
        SynthesisBuffer.samples.removeAll(keepingCapacity: true)
        let status = text.withCString { cText in
            espeak_Synth(cText, strlen(cText) + 1, 0, POS_CHARACTER, 0, UInt32(espeakCHARS_UTF8), nil, nil)
        }
        guard status == EE_OK else { throw SynthesisError.synthesis(code: Int32(status.rawValue)) }
        let samples = SynthesisBuffer.samples.map { Float($0) / 32768 }
        SynthesisBuffer.samples.removeAll()
        return SynthesizedSpeech(samples: samples, sampleRate: Int(sampleRate))
    }
}

/// Where the C callback puts samples; only touched while `SpeechSynthesizer.lock` is held.
private enum SynthesisBuffer {
    nonisolated(unsafe) static var samples: [Int16] = []
}

private func collectSamples(_ wav: UnsafeMutablePointer<Int16>?, _ count: Int32, _ events: UnsafeMutablePointer<espeak_EVENT>?) -> Int32 {
    if let wav, count > 0 {
        SynthesisBuffer.samples.append(contentsOf: UnsafeBufferPointer(start: wav, count: Int(count)))
    }
    return 0 // continue synthesis
}
