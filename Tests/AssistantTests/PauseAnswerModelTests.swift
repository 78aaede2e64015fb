import ASR
import Audio
import Assistant
import Foundation
import HarkTestSupport
import Intent
import Testing
import VAD

/// Answering on a pause with the real models (release: `swift test -c release --filter
/// PauseAnswerModelTests`): espeak-ng speech with a pause inside, Silero VAD and Whisper tiny.en.
/// The audio is delivered like a live source, 4x real time, but held back while a decode runs:
/// what these tests judge (which transcript is acted on) then does not depend on how fast the
/// machine decodes (a loaded machine would otherwise let the endpoint come first).
@Suite(.serialized) struct PauseAnswerModelTests {
    /// Whisper, counting the decodes in flight.
    final class TrackedRecognizer: SpeechRecognizing, @unchecked Sendable {
        let inner: WhisperTranscriber
        private let lock = NSLock()
        private var running = 0
        init(_ inner: WhisperTranscriber) { self.inner = inner }
        var busy: Bool { lock.withLock { running > 0 } }
        func recognize(_ samples: [Float], options: TranscriptionOptions) throws -> Transcript {
            lock.withLock { running += 1 }
            defer { lock.withLock { running -= 1 } }
            return try inner.recognize(samples, options: options)
        }
    }

    /// Hands out `inner`'s chunks one period apart (at `speed`), never while `recognizer` decodes.
    final class DecodeWaitingSource: AudioSourcing, @unchecked Sendable {
        let inner: SamplesAudioSource
        let recognizer: TrackedRecognizer
        var sampleRate: Int { inner.sampleRate }
        init(_ inner: SamplesAudioSource, recognizer: TrackedRecognizer) { self.inner = inner; self.recognizer = recognizer }
        func read() throws -> [Float]? {
            Thread.sleep(forTimeInterval: Double(inner.periodFrames) / Double(inner.sampleRate) / 4)
            while recognizer.busy { Thread.sleep(forTimeInterval: 0.002) }
            return try inner.read()
        }
    }

    /// espeak-ng's `text` at 16 kHz.
    func speech(_ text: String) throws -> [Float] {
        let voice = try SpeechSynthesizer.shared.synthesize(text)
        return try Resampler.resample(voice.samples, from: voice.sampleRate, to: 16000)
    }

    func silence(_ seconds: Double) -> [Float] { [Float](repeating: 0, count: Int(seconds * 16000)) }

    /// Runs the always-listening pipeline over `samples`. The trailing silence is 1.5 s, so the
    /// pause inside the command never ends the utterance.
    func run(_ samples: [Float]) async throws -> (log: EventLog, statistics: AssistantStatistics, listening: ListenStatistics) {
        let dir = try TemporaryDirectory()
        let log = EventLog()
        var config = AssistantConfig()
        config.mode = .always
        var listening = ListenerConfig()
        listening.partials = false
        listening.endpointer.trailingSilenceMs = 1500
        let responder = CommandResponder(intents: try IntentSet.builtIn(), timers: TimerCenter(),
                                         context: SkillContext(notes: NoteStore(url: dir.file("n.json"))), languageModel: nil)
        let recognizer = TrackedRecognizer(try WhisperTranscriber(modelDirectory: ProjectPaths.whisperTinyEn))
        let pipeline = try AssistantPipeline(recognizer: recognizer,
                                             detector: try VoiceActivityDetectors.makeDefault(sileroModel: ProjectPaths.sileroVAD),
                                             listenerConfig: listening, responder: responder, speech: SilentSpeechOutput(),
                                             config: config) { log.append($0) }
        let statistics = AssistantStatistics(), listenStatistics = ListenStatistics()
        try await pipeline.run(from: DecodeWaitingSource(SamplesAudioSource(samples: samples), recognizer: recognizer),
                               statistics: statistics, listenStatistics: listenStatistics)
        return (log, statistics, listenStatistics)
    }

    @Test func setATimerForPauseTenMinutesSetsOneTimerOfTenMinutes() async throws {
        let samples = silence(0.5) + (try speech("set a timer for")) + silence(0.8) + (try speech("ten minutes")) + silence(2)
        let r = try await run(samples)
        // The pause after "for" was long enough to be decoded and reported, and not acted on.
        #expect(r.listening.pauses >= 1, "\(r.log.events)")
        #expect(r.log.intents == ["SetTimer"], "\(r.log.events)")
        guard case let .intent(_, slots, _)? = r.log.events.first(where: { $0.name == "intent" }) else { return }
        #expect(slots["duration"] == "600")
        #expect(r.log.events.filter { $0.name == "timer" }.count == 1)
    }

    @Test func aCompleteCommandIsAnsweredBeforeTheEndpoint() async throws {
        let r = try await run(silence(0.5) + (try speech("set a timer for ten seconds")) + silence(2.5))
        #expect(r.log.intents == ["SetTimer"], "\(r.log.events)")
        #expect(r.statistics.earlyAnswers == 1, "answered on the pause, 1.5 s before the endpoint would come")
        #expect(r.log.finals.count == 1, "the endpoint's final is the early one: not reported twice")
    }
}
